//! The API's routes as data: a request's method and path are parsed once,
//! here, into a typed [`Route`] (parameters already checked), and 404 / 405
//! with `Allow` come from the same table. Each HTTP component dispatches the
//! routes of its [`Group`]; `spin.toml` sends each group's paths to it.

use crate::account::OAuthProvider;
use crate::order::OrderId;
use crate::product::ProductId;
use crate::ServiceError;

/// Which HTTP component serves a route (see `spin.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `gateway`: health, the OpenAPI document, and every unmatched path.
    Operations,
    /// `products-api`: `/product…`, composed with the catalog service.
    Products,
    /// `accounts-api`: sign-up, sign-in, sessions, composed with users.
    Accounts,
    /// `orders-api`: `/order…`, composed with the orders service.
    Orders,
    /// `payments-api`: `/payment…`, composed with the payments service.
    Payments,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Health,
    Ready,
    OpenApi,
    ListProducts,
    CreateProduct,
    GetProduct(ProductId),
    UpdateProduct(ProductId),
    DeleteProduct(ProductId),
    Register,
    Login,
    Refresh,
    Logout,
    Me,
    OAuthStart(OAuthProvider),
    OAuthCallback(OAuthProvider),
    CreateOrder,
    ListOrders,
    GetOrder(OrderId),
    GetPayment(OrderId),
    InitiatePayment,
    PaymentWebhook,
}

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
    group: Group,
    methods: &'static [(&'static str, Build)],
}

/// Every route of the API. `{name}` matches one path segment.
const TABLE: &[Entry] = &[
    Entry {
        template: "/health",
        group: Group::Operations,
        methods: &[("GET", |_| Ok(Route::Health))],
    },
    Entry {
        template: "/health/ready",
        group: Group::Operations,
        methods: &[("GET", |_| Ok(Route::Ready))],
    },
    Entry {
        template: "/openapi.json",
        group: Group::Operations,
        methods: &[("GET", |_| Ok(Route::OpenApi))],
    },
    Entry {
        template: "/product",
        group: Group::Products,
        methods: &[
            ("GET", |_| Ok(Route::ListProducts)),
            ("POST", |_| Ok(Route::CreateProduct)),
        ],
    },
    Entry {
        template: "/product/{id}",
        group: Group::Products,
        methods: &[
            ("GET", |p| Ok(Route::GetProduct(ProductId::parse(p[0])?))),
            ("PUT", |p| Ok(Route::UpdateProduct(ProductId::parse(p[0])?))),
            ("DELETE", |p| {
                Ok(Route::DeleteProduct(ProductId::parse(p[0])?))
            }),
        ],
    },
    Entry {
        template: "/register",
        group: Group::Accounts,
        methods: &[("POST", |_| Ok(Route::Register))],
    },
    Entry {
        template: "/login",
        group: Group::Accounts,
        methods: &[("POST", |_| Ok(Route::Login))],
    },
    Entry {
        template: "/refresh",
        group: Group::Accounts,
        methods: &[("POST", |_| Ok(Route::Refresh))],
    },
    Entry {
        template: "/logout",
        group: Group::Accounts,
        methods: &[("POST", |_| Ok(Route::Logout))],
    },
    Entry {
        template: "/me",
        group: Group::Accounts,
        methods: &[("GET", |_| Ok(Route::Me))],
    },
    Entry {
        template: "/oauth/{provider}",
        group: Group::Accounts,
        methods: &[("GET", |p| {
            Ok(Route::OAuthStart(OAuthProvider::parse(p[0])?))
        })],
    },
    Entry {
        template: "/oauth/{provider}/callback",
        group: Group::Accounts,
        methods: &[("GET", |p| {
            Ok(Route::OAuthCallback(OAuthProvider::parse(p[0])?))
        })],
    },
    Entry {
        template: "/order",
        group: Group::Orders,
        methods: &[
            ("GET", |_| Ok(Route::ListOrders)),
            ("POST", |_| Ok(Route::CreateOrder)),
        ],
    },
    Entry {
        template: "/order/{id}",
        group: Group::Orders,
        methods: &[("GET", |p| Ok(Route::GetOrder(OrderId::parse(p[0])?)))],
    },
    Entry {
        template: "/payment/order/{order_id}",
        group: Group::Payments,
        methods: &[("GET", |p| Ok(Route::GetPayment(OrderId::parse(p[0])?)))],
    },
    Entry {
        template: "/payment/initiate",
        group: Group::Payments,
        methods: &[("POST", |_| Ok(Route::InitiatePayment))],
    },
    Entry {
        template: "/payment/webhook",
        group: Group::Payments,
        methods: &[("POST", |_| Ok(Route::PaymentWebhook))],
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

    pub fn group(&self) -> Group {
        match self {
            Route::Health | Route::Ready | Route::OpenApi => Group::Operations,
            Route::ListProducts
            | Route::CreateProduct
            | Route::GetProduct(_)
            | Route::UpdateProduct(_)
            | Route::DeleteProduct(_) => Group::Products,
            Route::Register
            | Route::Login
            | Route::Refresh
            | Route::Logout
            | Route::Me
            | Route::OAuthStart(_)
            | Route::OAuthCallback(_) => Group::Accounts,
            Route::CreateOrder | Route::ListOrders | Route::GetOrder(_) => Group::Orders,
            Route::GetPayment(_) | Route::InitiatePayment | Route::PaymentWebhook => {
                Group::Payments
            }
        }
    }

    /// Every `(method, template, group)` of the table, for tests and docs.
    pub fn all() -> impl Iterator<Item = (&'static str, &'static str, Group)> {
        TABLE.iter().flat_map(|e| {
            e.methods
                .iter()
                .map(move |(m, _)| (*m, e.template, e.group))
        })
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
        assert_eq!(route("GET", "/product/42"), Ok(Route::GetProduct(id)));
        assert_eq!(route("PUT", "/product/42/"), Ok(Route::UpdateProduct(id)));
        assert_eq!(route("DELETE", "/product/42"), Ok(Route::DeleteProduct(id)));
        assert_eq!(route("GET", "/product"), Ok(Route::ListProducts));
        assert_eq!(route("GET", "/health/ready"), Ok(Route::Ready));
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
    fn every_row_parses_to_a_route_of_its_group() {
        for (method, template, group) in Route::all() {
            let path = template
                .replace("{id}", "1")
                .replace("{order_id}", "1")
                .replace("{provider}", "github");
            let m = Route::parse(method, &path).unwrap();
            assert_eq!(m.template, template);
            assert_eq!(m.route.group(), group, "{method} {template}");
        }
    }
}
