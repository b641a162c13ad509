//! JSON bodies more than one route group answers with: the order (the
//! buyer's `/order` and the operator's `/admin/orders/{id}`), the account
//! (`/me`, sign-in, and the operator's `/admin/users`) and a cancel's answer
//! (the customer's and the operator's). One shape each, from the one WIT
//! record each (`shop:platform/types`).

use component_support::wit::types::{CancelledOrder, Order, Role, User};
use serde::Serialize;

#[derive(Serialize)]
pub struct ItemJson {
    id: i64,
    product_id: i64,
    quantity: i32,
    price: i64,
}

/// `{id, user_id, total_price, status, order_items, created_at, updated_at}`
#[derive(Serialize)]
pub struct OrderJson {
    id: i64,
    user_id: i64,
    total_price: i64,
    status: &'static str,
    order_items: Vec<ItemJson>,
    created_at: String,
    updated_at: String,
}

impl From<Order> for OrderJson {
    fn from(o: Order) -> OrderJson {
        OrderJson {
            id: o.id,
            user_id: o.user_id,
            total_price: o.total_price,
            status: o.status.as_str(),
            order_items: o
                .order_items
                .into_iter()
                .map(|i| ItemJson {
                    id: i.id,
                    product_id: i.product_id,
                    quantity: i.quantity,
                    price: i.price,
                })
                .collect(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// `{id, full_name, email, role, email_verified}` (`email` is null for a
/// provider account that gave none).
#[derive(Serialize)]
pub struct UserJson {
    id: i64,
    full_name: String,
    email: Option<String>,
    role: &'static str,
    email_verified: bool,
}

impl From<User> for UserJson {
    fn from(u: User) -> UserJson {
        UserJson {
            id: u.id,
            full_name: u.full_name,
            email: u.email,
            role: role_name(u.role),
            email_verified: u.email_verified,
        }
    }
}

/// The API's name of a role.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Customer => "customer",
        Role::Admin => "admin",
    }
}

/// A cancel's answer, `{"order_id": 7, "status": "cancelled"}`: the
/// payment's status; the order follows through the saga.
#[derive(Serialize)]
pub struct CancelledBody {
    order_id: i64,
    status: &'static str,
}

impl CancelledBody {
    pub fn new(order_id: i64, cancelled: &CancelledOrder) -> CancelledBody {
        CancelledBody {
            order_id,
            status: cancelled.status.as_str(),
        }
    }
}
