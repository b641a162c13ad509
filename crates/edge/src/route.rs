//! The API's routes as data: a request's method and path are parsed once,
//! here, into a typed [`Route`] (parameters already checked), and 404 / 405
//! with `Allow` come from the same table. Each HTTP component dispatches the
//! routes of its group; `spin.toml` sends each group's paths to it.

use platform_core::account::OAuthProvider;
use platform_core::order::OrderId;
use platform_core::path::parse_id;
use platform_core::product::ProductId;
use platform_core::ServiceError;

/// A parsed route, by the HTTP component that serves it (`spin.toml` sends
/// each group's paths to its component). Each component matches its own
/// group's enum exhaustively, so a route added here and forgotten in its
/// component does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `gateway`: health, the OpenAPI document, and every unmatched path.
    Operations(Operations),
    /// `products-api`: `/product…`, composed with the catalog service.
    Products(Products),
    /// `accounts-api`: sign-up, sign-in, sessions, composed with users.
    Accounts(Accounts),
    /// `orders-api`: `/order…`, composed with the orders service.
    Orders(Orders),
    /// `payments-api`: `/payment…`, composed with the payments service.
    Payments(Payments),
    /// `admin-api`: `/admin…`, composed with the services' admin interfaces.
    Admin(Admin),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operations {
    Health,
    Ready,
    OpenApi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Products {
    List,
    Create,
    Get(ProductId),
    Update(ProductId),
    Delete(ProductId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accounts {
    Register,
    Login,
    Refresh,
    Logout,
    Me,
    OAuthStart(OAuthProvider),
    OAuthCallback(OAuthProvider),
    VerifyEmail,
    ResendVerification,
    ForgotPassword,
    ResetPassword,
    ChangePassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orders {
    Create,
    List,
    Get(OrderId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payments {
    Get(OrderId),
    Initiate,
    Webhook,
    /// `POST /order/{id}/cancel`: served with the payments service, which
    /// closes the payment at Midtrans first (spin.toml routes it here).
    CancelOrder(OrderId),
}

/// The operator's routes (issue 26); ids are checked positive integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    Orders,
    Order(OrderId),
    CancelOrder(OrderId),
    RefundPayment(i64),
    Anomalies,
    Users,
    SetRole(i64),
    Audit,
}

/// A group's routes out of a [`Route`]; `None` for another group's route
/// (which `spin.toml` never sends to this component).
pub trait Group: Sized {
    fn of(route: Route) -> Option<Self>;
}

macro_rules! groups {
    ($($group:ident),*) => {$(
        impl From<$group> for Route {
            fn from(r: $group) -> Route {
                Route::$group(r)
            }
        }
        impl Group for $group {
            fn of(route: Route) -> Option<$group> {
                match route {
                    Route::$group(r) => Some(r),
                    _ => None,
                }
            }
        }
    )*};
}
groups!(Operations, Products, Accounts, Orders, Payments, Admin);

/// Why a request matched no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No template matches the path.
    NotFound,
    /// The path exists; `allow` lists its methods.
    MethodNotAllowed { allow: String },
    /// The path and method match but a parameter is malformed (400).
    BadParameter(ServiceError),
}

/// A matched route and the template it matched (for logs and budgets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Matched {
    pub route: Route,
    pub template: &'static str,
}

type Build = fn(&[&str]) -> Result<Route, ServiceError>;

struct Entry {
    template: &'static str,
    methods: &'static [(&'static str, Build)],
}

/// Every route of the API. `{name}` matches one path segment.
const TABLE: &[Entry] = &[
    Entry {
        template: "/health",
        methods: &[("GET", |_| Ok(Operations::Health.into()))],
    },
    Entry {
        template: "/health/ready",
        methods: &[("GET", |_| Ok(Operations::Ready.into()))],
    },
    Entry {
        template: "/openapi.json",
        methods: &[("GET", |_| Ok(Operations::OpenApi.into()))],
    },
    Entry {
        template: "/product",
        methods: &[
            ("GET", |_| Ok(Products::List.into())),
            ("POST", |_| Ok(Products::Create.into())),
        ],
    },
    Entry {
        template: "/product/{id}",
        methods: &[
            ("GET", |p| Ok(Products::Get(ProductId::parse(p[0])?).into())),
            ("PUT", |p| {
                Ok(Products::Update(ProductId::parse(p[0])?).into())
            }),
            ("DELETE", |p| {
                Ok(Products::Delete(ProductId::parse(p[0])?).into())
            }),
        ],
    },
    Entry {
        template: "/register",
        methods: &[("POST", |_| Ok(Accounts::Register.into()))],
    },
    Entry {
        template: "/login",
        methods: &[("POST", |_| Ok(Accounts::Login.into()))],
    },
    Entry {
        template: "/refresh",
        methods: &[("POST", |_| Ok(Accounts::Refresh.into()))],
    },
    Entry {
        template: "/logout",
        methods: &[("POST", |_| Ok(Accounts::Logout.into()))],
    },
    Entry {
        template: "/me",
        methods: &[("GET", |_| Ok(Accounts::Me.into()))],
    },
    Entry {
        template: "/me/password",
        methods: &[("PUT", |_| Ok(Accounts::ChangePassword.into()))],
    },
    Entry {
        template: "/verify-email",
        methods: &[("POST", |_| Ok(Accounts::VerifyEmail.into()))],
    },
    Entry {
        template: "/verify-email/resend",
        methods: &[("POST", |_| Ok(Accounts::ResendVerification.into()))],
    },
    Entry {
        template: "/password/forgot",
        methods: &[("POST", |_| Ok(Accounts::ForgotPassword.into()))],
    },
    Entry {
        template: "/password/reset",
        methods: &[("POST", |_| Ok(Accounts::ResetPassword.into()))],
    },
    Entry {
        template: "/oauth/{provider}",
        methods: &[("GET", |p| {
            Ok(Accounts::OAuthStart(OAuthProvider::parse(p[0])?).into())
        })],
    },
    Entry {
        template: "/oauth/{provider}/callback",
        methods: &[("GET", |p| {
            Ok(Accounts::OAuthCallback(OAuthProvider::parse(p[0])?).into())
        })],
    },
    Entry {
        template: "/order",
        methods: &[
            ("GET", |_| Ok(Orders::List.into())),
            ("POST", |_| Ok(Orders::Create.into())),
        ],
    },
    Entry {
        template: "/order/{id}",
        methods: &[("GET", |p| Ok(Orders::Get(OrderId::parse(p[0])?).into()))],
    },
    Entry {
        template: "/order/{id}/cancel",
        methods: &[("POST", |p| {
            Ok(Payments::CancelOrder(OrderId::parse(p[0])?).into())
        })],
    },
    Entry {
        template: "/payment/order/{order_id}",
        methods: &[("GET", |p| Ok(Payments::Get(OrderId::parse(p[0])?).into()))],
    },
    Entry {
        template: "/payment/initiate",
        methods: &[("POST", |_| Ok(Payments::Initiate.into()))],
    },
    Entry {
        template: "/payment/webhook",
        methods: &[("POST", |_| Ok(Payments::Webhook.into()))],
    },
    Entry {
        template: "/admin/orders",
        methods: &[("GET", |_| Ok(Admin::Orders.into()))],
    },
    Entry {
        template: "/admin/orders/{id}",
        methods: &[("GET", |p| Ok(Admin::Order(OrderId::parse(p[0])?).into()))],
    },
    Entry {
        template: "/admin/orders/{id}/cancel",
        methods: &[("POST", |p| {
            Ok(Admin::CancelOrder(OrderId::parse(p[0])?).into())
        })],
    },
    Entry {
        template: "/admin/payments/{id}/refund",
        methods: &[("POST", |p| {
            Ok(Admin::RefundPayment(parse_id(p[0], "payment id")?).into())
        })],
    },
    Entry {
        template: "/admin/anomalies",
        methods: &[("GET", |_| Ok(Admin::Anomalies.into()))],
    },
    Entry {
        template: "/admin/users",
        methods: &[("GET", |_| Ok(Admin::Users.into()))],
    },
    Entry {
        template: "/admin/users/{id}/role",
        methods: &[("PUT", |p| {
            Ok(Admin::SetRole(parse_id(p[0], "user id")?).into())
        })],
    },
    Entry {
        template: "/admin/audit",
        methods: &[("GET", |_| Ok(Admin::Audit.into()))],
    },
];

/// Path segments without empty ones; a trailing slash is ignored.
fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// The captured `{param}` segments if `template` matches `path`.
fn capture<'p>(template: &str, path: &[&'p str]) -> Option<Vec<&'p str>> {
    let parts = segments(template);
    if parts.len() != path.len() {
        return None;
    }
    let mut params = Vec::new();
    for (t, p) in parts.iter().zip(path) {
        if t.starts_with('{') {
            params.push(*p);
        } else if t != p {
            return None;
        }
    }
    Some(params)
}

impl Route {
    /// Parses a request line. `method` is upper case (`GET`, `POST`, …).
    pub fn parse(method: &str, path: &str) -> Result<Matched, RouteError> {
        let path = segments(path);
        for entry in TABLE {
            let Some(params) = capture(entry.template, &path) else {
                continue;
            };
            return match entry.methods.iter().find(|(m, _)| *m == method) {
                Some((_, build)) => build(&params)
                    .map(|route| Matched {
                        route,
                        template: entry.template,
                    })
                    .map_err(RouteError::BadParameter),
                None => Err(RouteError::MethodNotAllowed {
                    allow: entry
                        .methods
                        .iter()
                        .map(|(m, _)| *m)
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            };
        }
        Err(RouteError::NotFound)
    }

    /// The template of a path (even when its method or parameter is wrong).
    pub fn template_of(path: &str) -> Option<&'static str> {
        let path = segments(path);
        TABLE
            .iter()
            .find(|e| capture(e.template, &path).is_some())
            .map(|e| e.template)
    }

    /// Every `(method, template)` of the table, for tests and docs.
    pub fn all() -> impl Iterator<Item = (&'static str, &'static str)> {
        TABLE
            .iter()
            .flat_map(|e| e.methods.iter().map(move |(m, _)| (*m, e.template)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> Result<Route, RouteError> {
        Route::parse(method, path).map(|m| m.route)
    }

    #[test]
    fn parses_typed_parameters() {
        let id = ProductId::parse("42").unwrap();
        assert_eq!(route("GET", "/product/42"), Ok(Products::Get(id).into()));
        assert_eq!(
            route("PUT", "/product/42/"),
            Ok(Products::Update(id).into())
        );
        assert_eq!(
            route("DELETE", "/product/42"),
            Ok(Products::Delete(id).into())
        );
        assert_eq!(route("GET", "/product"), Ok(Products::List.into()));
        assert_eq!(route("GET", "/health/ready"), Ok(Operations::Ready.into()));
    }

    #[test]
    fn bad_parameters_are_400_not_404() {
        for path in ["/product/abc", "/product/0", "/product/-1", "/product/1.5"] {
            assert!(
                matches!(route("GET", path), Err(RouteError::BadParameter(_))),
                "{path}"
            );
        }
    }

    #[test]
    fn unknown_paths_and_methods() {
        assert_eq!(route("GET", "/nope"), Err(RouteError::NotFound));
        assert_eq!(route("GET", "/product/1/x"), Err(RouteError::NotFound));
        assert_eq!(
            route("PATCH", "/product/1"),
            Err(RouteError::MethodNotAllowed {
                allow: "GET, PUT, DELETE".into()
            })
        );
        assert_eq!(
            route("DELETE", "/product"),
            Err(RouteError::MethodNotAllowed {
                allow: "GET, POST".into()
            })
        );
        // A method not allowed wins over a bad parameter: the path exists.
        assert!(matches!(
            route("PATCH", "/product/abc"),
            Err(RouteError::MethodNotAllowed { .. })
        ));
    }

    #[test]
    fn templates_are_reported() {
        let m = Route::parse("GET", "/product/9").unwrap();
        assert_eq!(m.template, "/product/{id}");
        assert_eq!(Route::template_of("/product/x"), Some("/product/{id}"));
        assert_eq!(Route::template_of("/x"), None);
    }

    #[test]
    fn every_row_parses_to_its_own_template() {
        for (method, template) in Route::all() {
            let path = template
                .replace("{id}", "1")
                .replace("{order_id}", "1")
                .replace("{provider}", "github");
            let m = Route::parse(method, &path).unwrap();
            assert_eq!(m.template, template, "{method} {template}");
        }
    }

    #[test]
    fn a_group_takes_only_its_own_routes() {
        let order = Route::parse("GET", "/order/1").unwrap().route;
        assert_eq!(
            Orders::of(order),
            Some(Orders::Get(OrderId::new(1).unwrap()))
        );
        assert_eq!(Payments::of(order), None);
        assert_eq!(Operations::of(order), None);
    }
}
