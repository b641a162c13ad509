//! The JSON bodies of the `/admin` routes (openapi.json, tag `admin`).

use platform_core::admin::AnomalyKind;
use platform_core::page::Page;
use serde::Serialize;
use serde_json::Value;

use edge::bodies::OrderJson;

use crate::shop::orders_admin::admin::{OrderDetail, OrderEvent, OrderSummary, SummaryPage};
use crate::shop::payments_admin::admin::{
    self as payments, Anomaly, AttemptView, NotificationView, PaymentDetail, RefundOutcome,
    RefundResult, RefundState, TokenState,
};
use crate::shop::platform::users::User;
use crate::shop::users_admin::admin::{AuditEntry, AuditPage, UserPage};

#[derive(Serialize)]
pub struct OrderSummaryJson {
    id: i64,
    user_id: i64,
    total_price: i64,
    status: &'static str,
    created_at: String,
    updated_at: String,
}

/// `{"orders": [...], "page", "page_size", "has_more"}`
#[derive(Serialize)]
pub struct OrderList {
    orders: Vec<OrderSummaryJson>,
    page: u32,
    page_size: u32,
    has_more: bool,
}

impl From<OrderSummary> for OrderSummaryJson {
    fn from(o: OrderSummary) -> Self {
        OrderSummaryJson {
            id: o.id,
            user_id: o.user_id,
            total_price: o.total_price,
            status: o.status.as_str(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

impl From<(SummaryPage, Page)> for OrderList {
    fn from((p, page): (SummaryPage, Page)) -> Self {
        OrderList {
            orders: p.orders.into_iter().map(Into::into).collect(),
            page: page.page,
            page_size: page.page_size,
            has_more: p.has_more,
        }
    }
}

#[derive(Serialize)]
pub struct EventJson {
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
    created_at: String,
    relayed_at: Option<String>,
    consumed_at: Option<String>,
    publish_attempts: i32,
    relay_error: Option<String>,
}

impl From<OrderEvent> for EventJson {
    fn from(e: OrderEvent) -> Self {
        EventJson {
            event_id: e.event_id,
            event_type: e.event_type,
            created_at: e.created_at,
            relayed_at: e.relayed_at,
            consumed_at: e.consumed_at,
            publish_attempts: e.publish_attempts,
            relay_error: e.relay_error,
        }
    }
}

#[derive(Serialize)]
pub struct AttemptJson {
    attempt: i32,
    gateway_order_id: String,
    token: &'static str,
    expires_at: String,
    transaction_status: Option<String>,
    fraud_status: Option<String>,
    payment_type: Option<String>,
    refund: &'static str,
    created_at: String,
}

impl From<AttemptView> for AttemptJson {
    fn from(a: AttemptView) -> Self {
        AttemptJson {
            attempt: a.attempt,
            gateway_order_id: a.gateway_order_id,
            token: match a.token {
                TokenState::None => "none",
                TokenState::Valid => "valid",
                TokenState::Expired => "expired",
            },
            expires_at: a.expires_at,
            transaction_status: a.transaction_status,
            fraud_status: a.fraud_status,
            payment_type: a.payment_type,
            refund: match a.refund {
                RefundState::None => "none",
                RefundState::Owed => "owed",
                RefundState::Requested => "requested",
                RefundState::Refused => "refused",
                RefundState::Refunded => "refunded",
            },
            created_at: a.created_at,
        }
    }
}

#[derive(Serialize)]
pub struct NotificationJson {
    id: i64,
    received_at: String,
    source: String,
    verdict: String,
    confirmed_status: Option<String>,
}

impl From<NotificationView> for NotificationJson {
    fn from(n: NotificationView) -> Self {
        NotificationJson {
            id: n.id,
            received_at: n.received_at,
            source: n.source,
            verdict: n.verdict,
            confirmed_status: n.confirmed_status,
        }
    }
}

#[derive(Serialize)]
pub struct PaymentJson {
    id: i64,
    status: &'static str,
    amount: i64,
    gateway_order_id: String,
    created_at: String,
    updated_at: String,
    attempts: Vec<AttemptJson>,
    notifications: Vec<NotificationJson>,
}

impl From<PaymentDetail> for PaymentJson {
    fn from(p: PaymentDetail) -> Self {
        PaymentJson {
            id: p.id,
            status: p.status.as_str(),
            amount: p.amount,
            gateway_order_id: p.gateway_order_id,
            created_at: p.created_at,
            updated_at: p.updated_at,
            attempts: p.attempts.into_iter().map(Into::into).collect(),
            notifications: p.notifications.into_iter().map(Into::into).collect(),
        }
    }
}

/// `{"order", "payment", "events"}`
#[derive(Serialize)]
pub struct OrderDetailBody {
    order: OrderJson,
    payment: Option<PaymentJson>,
    events: Vec<EventJson>,
}

impl OrderDetailBody {
    pub fn new(detail: OrderDetail, payment: Option<PaymentDetail>) -> Self {
        OrderDetailBody {
            order: detail.order.into(),
            payment: payment.map(Into::into),
            events: detail.events.into_iter().map(Into::into).collect(),
        }
    }
}

/// `{"payment_id", "status", "refund"}`: 202 while Midtrans's confirmation
/// is awaited (or the request is owed), 200 when it was refunded before.
#[derive(Serialize)]
pub struct RefundBody {
    payment_id: i64,
    status: &'static str,
    refund: &'static str,
}

impl From<RefundResult> for RefundBody {
    fn from(r: RefundResult) -> Self {
        RefundBody {
            payment_id: r.payment_id,
            status: r.status.as_str(),
            refund: match r.refund {
                RefundOutcome::Requested => "requested",
                RefundOutcome::Owed => "owed",
                RefundOutcome::Refunded => "refunded",
            },
        }
    }
}

impl RefundBody {
    pub fn http_status(&self) -> u16 {
        if self.refund == "refunded" {
            200
        } else {
            202
        }
    }
}

#[derive(Serialize)]
pub struct ActionJson {
    label: &'static str,
    method: &'static str,
    path: String,
}

#[derive(Serialize)]
pub struct AnomalyJson {
    kind: &'static str,
    order_id: i64,
    payment_id: Option<i64>,
    event_id: Option<String>,
    since: String,
    detail: String,
    action: Option<ActionJson>,
}

/// `{"anomalies": [...]}`
#[derive(Serialize)]
pub struct AnomalyList {
    anomalies: Vec<AnomalyJson>,
}

fn kind(k: payments::AnomalyKind) -> AnomalyKind {
    match k {
        payments::AnomalyKind::RefundOwed => AnomalyKind::RefundOwed,
        payments::AnomalyKind::RefundRefused => AnomalyKind::RefundRefused,
        payments::AnomalyKind::RefundUnconfirmed => AnomalyKind::RefundUnconfirmed,
        payments::AnomalyKind::StatusMismatch => AnomalyKind::StatusMismatch,
        payments::AnomalyKind::EventUnacknowledged => AnomalyKind::EventUnacknowledged,
    }
}

impl From<Anomaly> for AnomalyJson {
    fn from(a: Anomaly) -> Self {
        let kind = kind(a.kind);
        AnomalyJson {
            kind: kind.as_str(),
            order_id: a.order_id,
            payment_id: a.payment_id,
            event_id: a.event_id,
            since: a.since,
            detail: kind.detail(&a.subject),
            action: kind.action(a.payment_id).map(|x| ActionJson {
                label: x.label,
                method: x.method,
                path: x.path,
            }),
        }
    }
}

impl From<Vec<Anomaly>> for AnomalyList {
    fn from(list: Vec<Anomaly>) -> Self {
        AnomalyList {
            anomalies: list.into_iter().map(Into::into).collect(),
        }
    }
}

/// The account as `/me` shows it, and since when it exists.
#[derive(Serialize)]
pub struct UserJson {
    #[serde(flatten)]
    user: edge::bodies::UserJson,
    created_at: String,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        let created_at = u.created_at.clone();
        UserJson {
            user: u.into(),
            created_at,
        }
    }
}

/// `{"user": {...}}`
#[derive(Serialize)]
pub struct UserBody {
    user: UserJson,
}

impl From<User> for UserBody {
    fn from(u: User) -> Self {
        UserBody { user: u.into() }
    }
}

/// `{"users": [...], "page", "page_size", "has_more"}`
#[derive(Serialize)]
pub struct UserList {
    users: Vec<UserJson>,
    page: u32,
    page_size: u32,
    has_more: bool,
}

impl From<(UserPage, Page)> for UserList {
    fn from((p, page): (UserPage, Page)) -> Self {
        UserList {
            users: p.users.into_iter().map(Into::into).collect(),
            page: page.page,
            page_size: page.page_size,
            has_more: p.has_more,
        }
    }
}

#[derive(Serialize)]
pub struct AuditJson {
    id: i64,
    actor_id: i64,
    actor_email: Option<String>,
    action: String,
    target_type: String,
    target_id: i64,
    /// The stored JSON objects, as they are.
    before: Option<Value>,
    after: Option<Value>,
    at: String,
}

fn raw(json: Option<String>) -> Option<Value> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

impl From<AuditEntry> for AuditJson {
    fn from(e: AuditEntry) -> Self {
        AuditJson {
            id: e.id,
            actor_id: e.actor_id,
            actor_email: e.actor_email,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            before: raw(e.before),
            after: raw(e.after),
            at: e.at,
        }
    }
}

/// `{"entries": [...], "page", "page_size", "has_more"}`
#[derive(Serialize)]
pub struct AuditList {
    entries: Vec<AuditJson>,
    page: u32,
    page_size: u32,
    has_more: bool,
}

impl From<(AuditPage, Page)> for AuditList {
    fn from((p, page): (AuditPage, Page)) -> Self {
        AuditList {
            entries: p.entries.into_iter().map(Into::into).collect(),
            page: page.page,
            page_size: page.page_size,
            has_more: p.has_more,
        }
    }
}
