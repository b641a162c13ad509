//! The operator's API (issue 26): its query filters, checked once into
//! types, and what each anomaly asks of a person.

use crate::order::OrderStatus;
use crate::page::Page;
use crate::path::parse_id;
use crate::time::{parse_rfc3339, rfc3339_from_micros, timestamp_literal};
use crate::ServiceError;

/// `GET /admin/orders`'s filters; `from`/`to` in microseconds since the
/// Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub user_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl OrderFilter {
    /// Unknown parameters are ignored (paging is read separately); a present
    /// but malformed one is a 400 naming it.
    pub fn from_query(query: &str) -> Result<OrderFilter, ServiceError> {
        let (mut status, mut user_id, mut from, mut to) = (None, None, None, None);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "status" => {
                    status = Some(OrderStatus::parse(&value).ok_or_else(|| {
                        ServiceError::invalid(
                            "status must be one of pending, paid, failed, expired, cancelled",
                        )
                    })?)
                }
                "user_id" => user_id = Some(parse_id(&value, "user_id")?),
                "from" => from = Some(value.into_owned()),
                "to" => to = Some(value.into_owned()),
                _ => {}
            }
        }
        OrderFilter::new(status, user_id, from.as_deref(), to.as_deref())
    }

    /// Checks the bounds (RFC 3339, `from` not after `to`) and converts them
    /// to UTC; a user id must be positive.
    pub fn new(
        status: Option<OrderStatus>,
        user_id: Option<i64>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<OrderFilter, ServiceError> {
        if user_id.is_some_and(|id| id < 1) {
            return Err(ServiceError::invalid("user_id must be a positive integer"));
        }
        let from = from.map(|v| date_time("from", v)).transpose()?;
        let to = to.map(|v| date_time("to", v)).transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(ServiceError::invalid("from must not be after to"));
            }
        }
        Ok(OrderFilter {
            status,
            user_id,
            from,
            to,
        })
    }

    /// The bounds as UTC `timestamp` literals for SQL.
    pub fn literals(&self) -> (Option<String>, Option<String>) {
        (
            self.from.map(timestamp_literal),
            self.to.map(timestamp_literal),
        )
    }

    /// The bounds as RFC 3339 UTC text (the WIT's `timestamp`).
    pub fn rfc3339(&self) -> (Option<String>, Option<String>) {
        (
            self.from.map(rfc3339_from_micros),
            self.to.map(rfc3339_from_micros),
        )
    }
}

/// A bound parameter of the SQL below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlArg {
    Text(String),
    Int(i64),
}

impl OrderFilter {
    /// The operator's order page as SQL with only the filters present (no
    /// `$n IS NULL OR …`, so each shape plans as its index scan), newest
    /// first, one row more than the page. The tests EXPLAIN this very text.
    pub fn list_sql(&self, page: &Page) -> (String, Vec<SqlArg>) {
        let mut args = Vec::new();
        let mut conditions = Vec::new();
        if let Some(status) = self.status {
            args.push(SqlArg::Text(status.as_str().to_string()));
            conditions.push(format!("status = ${}", args.len()));
        }
        if let Some(user) = self.user_id {
            args.push(SqlArg::Int(user));
            conditions.push(format!("user_id = ${}", args.len()));
        }
        let (from, to) = self.literals();
        if let Some(from) = from {
            args.push(SqlArg::Text(from));
            conditions.push(format!("created_at >= (${}::text)::timestamp", args.len()));
        }
        if let Some(to) = to {
            args.push(SqlArg::Text(to));
            conditions.push(format!("created_at < (${}::text)::timestamp", args.len()));
        }
        let mut sql = String::from(
            "SELECT id, user_id, total_price, status, created_at, updated_at FROM orders",
        );
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        args.push(SqlArg::Int(page.limit() + 1));
        args.push(SqlArg::Int(page.offset()));
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
            args.len() - 1,
            args.len()
        ));
        (sql, args)
    }
}

fn date_time(name: &str, value: &str) -> Result<i64, ServiceError> {
    parse_rfc3339(value).ok_or_else(|| {
        ServiceError::invalid(format!(
            "{name} must be an RFC 3339 date-time, e.g. 2026-12-06T10:00:00Z"
        ))
    })
}

/// A role an operator gives an account (`PUT /admin/users/{id}/role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NewRole {
    Customer,
    Admin,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFields {
    role: NewRole,
}

impl NewRole {
    /// `{"role": "customer" | "admin"}`, nothing else.
    pub fn from_json(body: &[u8]) -> Result<NewRole, ServiceError> {
        serde_json::from_slice::<RoleFields>(body)
            .map(|f| f.role)
            .map_err(|_| ServiceError::invalid("body must be {\"role\": \"customer\" | \"admin\"}"))
    }
}

/// The longest address (RFC 5321), so the longest useful prefix.
const MAX_EMAIL: usize = 254;

/// `GET /admin/users?email=`: a lower-cased prefix of an address.
pub fn email_prefix(query: &str) -> Result<Option<String>, ServiceError> {
    let Some(value) = param(query, "email") else {
        return Ok(None);
    };
    // Bounded as typed: lower-casing can lengthen a character (`İ`).
    let typed = value.trim();
    if typed.is_empty() || typed.chars().count() > MAX_EMAIL || typed.contains('\0') {
        return Err(ServiceError::invalid(format!(
            "email must be 1 to {MAX_EMAIL} characters (the start of an address)"
        )));
    }
    Ok(Some(typed.to_lowercase()))
}

/// A `LIKE` pattern matching text that starts with `prefix` (its `%`, `_`
/// and `\` match themselves; the SQL says `ESCAPE '\'`).
pub fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// What an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetType {
    Order,
    Payment,
    User,
}

impl TargetType {
    pub fn parse(text: &str) -> Option<TargetType> {
        Some(match text {
            "order" => TargetType::Order,
            "payment" => TargetType::Payment,
            "user" => TargetType::User,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Order => "order",
            TargetType::Payment => "payment",
            TargetType::User => "user",
        }
    }
}

/// `GET /admin/audit`'s filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    pub target_type: Option<TargetType>,
    pub target_id: Option<i64>,
}

impl AuditFilter {
    pub fn from_query(query: &str) -> Result<AuditFilter, ServiceError> {
        let mut filter = AuditFilter::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "actor_id" => filter.actor_id = Some(parse_id(&value, "actor_id")?),
                "target_type" => {
                    filter.target_type = Some(TargetType::parse(&value).ok_or_else(|| {
                        ServiceError::invalid("target_type must be one of order, payment, user")
                    })?)
                }
                "target_id" => filter.target_id = Some(parse_id(&value, "target_id")?),
                _ => {}
            }
        }
        if filter.target_id.is_some() && filter.target_type.is_none() {
            return Err(ServiceError::invalid("target_id needs target_type"));
        }
        Ok(filter)
    }
}

/// How long an event may wait, or a status disagree, before it is an
/// anomaly (`older_than_secs`, default 5 minutes, at most a week).
pub const DEFAULT_OLDER_THAN_SECS: u32 = 300;
pub const MAX_OLDER_THAN_SECS: u32 = 604_800;
/// Anomalies listed per kind.
pub const ANOMALIES_PER_KIND: u32 = 50;

pub fn older_than_secs(query: &str) -> Result<u32, ServiceError> {
    let Some(value) = param(query, "older_than_secs") else {
        return Ok(DEFAULT_OLDER_THAN_SECS);
    };
    match value.parse::<u32>() {
        Ok(n) if (1..=MAX_OLDER_THAN_SECS).contains(&n) => Ok(n),
        _ => Err(ServiceError::invalid(format!(
            "older_than_secs must be an integer between 1 and {MAX_OLDER_THAN_SECS}"
        ))),
    }
}

/// The last value of a query parameter.
fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .last()
}

/// What needs a person (`operator_anomalies`, V19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnomalyKind {
    /// Money to return that Midtrans has not accepted yet.
    RefundOwed,
    /// Midtrans refused the refund.
    RefundRefused,
    /// Accepted, but Midtrans never confirmed it with a notification.
    RefundUnconfirmed,
    /// A pending order whose payment ended: its event was not applied.
    StatusMismatch,
    /// An event no consumer acknowledged.
    EventUnacknowledged,
}

/// A button: the API call that resolves an anomaly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub label: &'static str,
    pub method: &'static str,
    pub path: String,
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::RefundOwed => "refund_owed",
            AnomalyKind::RefundRefused => "refund_refused",
            AnomalyKind::RefundUnconfirmed => "refund_unconfirmed",
            AnomalyKind::StatusMismatch => "status_mismatch",
            AnomalyKind::EventUnacknowledged => "event_unacknowledged",
        }
    }

    pub fn parse(text: &str) -> Option<AnomalyKind> {
        [
            AnomalyKind::RefundOwed,
            AnomalyKind::RefundRefused,
            AnomalyKind::RefundUnconfirmed,
            AnomalyKind::StatusMismatch,
            AnomalyKind::EventUnacknowledged,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }

    /// What it is and what to do, for a person. `subject`: the attempt's
    /// gateway order id (refunds), the payment's status (mismatch) or the
    /// event's type.
    pub fn detail(self, subject: &str) -> String {
        match self {
            AnomalyKind::RefundOwed => format!(
                "The refund of {subject} has not been accepted by Midtrans yet; \
                 the maintenance sweep asks again on every tick."
            ),
            AnomalyKind::RefundRefused => format!(
                "Midtrans refused to refund {subject}: return the money from the \
                 Midtrans dashboard."
            ),
            AnomalyKind::RefundUnconfirmed => format!(
                "Midtrans accepted the refund of {subject} but has not confirmed it \
                 with a notification."
            ),
            AnomalyKind::StatusMismatch => format!(
                "The payment is {subject} but the order is still pending: its \
                 payment.updated event was not applied. Check the workers; the relay \
                 re-publishes it until it is."
            ),
            AnomalyKind::EventUnacknowledged => format!(
                "{subject} has not been acknowledged by its consumer; the relay keeps \
                 re-publishing it. Check the workers' logs."
            ),
        }
    }

    /// The API call that resolves it, when there is one.
    pub fn action(self, payment_id: Option<i64>) -> Option<Action> {
        let label = match self {
            AnomalyKind::RefundOwed => "Ask Midtrans for the refund now",
            AnomalyKind::RefundUnconfirmed => "Ask Midtrans again (the same refund)",
            _ => return None,
        };
        Some(Action {
            label,
            method: "POST",
            path: format!("/admin/payments/{}/refund", payment_id?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(r: Result<impl std::fmt::Debug, ServiceError>) -> String {
        match r {
            Err(ServiceError::InvalidInput(m)) => m,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn order_filters_parse_and_convert_to_utc() {
        let f = OrderFilter::from_query(
            "status=paid&user_id=7&from=2026-12-06T17:00:00%2B07:00&to=2026-12-07T00:00:00Z&page=2",
        )
        .unwrap();
        assert_eq!(f.status, Some(OrderStatus::Paid));
        assert_eq!(f.user_id, Some(7));
        let (from, to) = f.literals();
        assert_eq!(from.as_deref(), Some("2026-12-06 10:00:00.000000"));
        assert_eq!(to.as_deref(), Some("2026-12-07 00:00:00.000000"));
        assert_eq!(
            f.rfc3339().0.as_deref(),
            Some("2026-12-06T10:00:00.000000Z")
        );
        assert_eq!(OrderFilter::from_query("").unwrap(), OrderFilter::default());
    }

    #[test]
    fn the_list_sql_has_only_the_filters_present() {
        let page = Page::new(3, 10).unwrap();
        let (sql, args) = OrderFilter::default().list_sql(&page);
        assert!(!sql.contains("WHERE"), "{sql}");
        assert!(sql.ends_with("ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"));
        assert_eq!(args, vec![SqlArg::Int(11), SqlArg::Int(20)]);
        let f = OrderFilter::from_query("status=paid&to=2026-12-07T00:00:00Z").unwrap();
        let (sql, args) = f.list_sql(&page);
        assert!(sql.contains("WHERE status = $1 AND created_at < ($2::text)::timestamp ORDER BY"));
        assert_eq!(args[0], SqlArg::Text("paid".into()));
        assert_eq!(args[1], SqlArg::Text("2026-12-07 00:00:00.000000".into()));
        assert_eq!(args.len(), 4);
    }

    #[test]
    fn bad_order_filters_are_400s_naming_the_parameter() {
        assert!(invalid(OrderFilter::from_query("status=shipped")).contains("status"));
        assert!(invalid(OrderFilter::from_query("user_id=0")).contains("user_id"));
        assert!(invalid(OrderFilter::from_query("from=yesterday")).contains("from"));
        assert!(invalid(OrderFilter::from_query(
            "from=2026-12-07T00:00:00Z&to=2026-12-06T00:00:00Z"
        ))
        .contains("after"));
    }

    #[test]
    fn a_role_body_is_one_known_role() {
        assert_eq!(
            NewRole::from_json(br#"{"role":"admin"}"#).unwrap(),
            NewRole::Admin
        );
        assert_eq!(
            NewRole::from_json(br#"{"role":"customer"}"#).unwrap(),
            NewRole::Customer
        );
        for bad in [
            &br#"{"role":"root"}"#[..],
            br#"{"role":"admin","x":1}"#,
            br#"{}"#,
            br#"{"role":1}"#,
            b"[",
        ] {
            assert!(invalid(NewRole::from_json(bad)).contains("role"));
        }
    }

    #[test]
    fn email_prefixes_are_lower_case_and_bounded() {
        assert_eq!(
            email_prefix("email=Ayu%40").unwrap().as_deref(),
            Some("ayu@")
        );
        assert_eq!(email_prefix("page=1").unwrap(), None);
        assert!(invalid(email_prefix("email=")).contains("email"));
        assert!(invalid(email_prefix(&format!("email={}", "a".repeat(255)))).contains("254"));
        assert!(invalid(email_prefix("email=a%00b")).contains("email"));
    }

    #[test]
    fn like_prefixes_match_wildcards_literally() {
        assert_eq!(like_prefix("a_b%c\\"), "a\\_b\\%c\\\\%");
        assert_eq!(like_prefix("ayu@"), "ayu@%");
    }

    #[test]
    fn audit_filters_need_a_type_for_an_id() {
        let f = AuditFilter::from_query("actor_id=1&target_type=payment&target_id=9").unwrap();
        assert_eq!(f.target_type, Some(TargetType::Payment));
        assert_eq!((f.actor_id, f.target_id), (Some(1), Some(9)));
        assert!(invalid(AuditFilter::from_query("target_id=9")).contains("target_type"));
        assert!(invalid(AuditFilter::from_query("target_type=product")).contains("target_type"));
    }

    #[test]
    fn older_than_is_bounded_with_a_default() {
        assert_eq!(older_than_secs("").unwrap(), DEFAULT_OLDER_THAN_SECS);
        assert_eq!(older_than_secs("older_than_secs=60").unwrap(), 60);
        for bad in ["0", "604801", "-1", "1.5", "x"] {
            assert!(invalid(older_than_secs(&format!("older_than_secs={bad}")))
                .contains("older_than_secs"));
        }
    }

    #[test]
    fn refunds_owed_or_unconfirmed_have_a_button_the_rest_a_text() {
        for kind in [AnomalyKind::RefundOwed, AnomalyKind::RefundUnconfirmed] {
            let action = kind.action(Some(7)).unwrap();
            assert_eq!(
                (action.method, action.path.as_str()),
                ("POST", "/admin/payments/7/refund")
            );
        }
        for kind in [
            AnomalyKind::RefundRefused,
            AnomalyKind::StatusMismatch,
            AnomalyKind::EventUnacknowledged,
        ] {
            assert_eq!(kind.action(Some(7)), None);
            assert_eq!(AnomalyKind::parse(kind.as_str()), Some(kind));
        }
        assert!(AnomalyKind::RefundRefused
            .detail("order-1-1-x")
            .contains("order-1-1-x"));
        assert_eq!(AnomalyKind::parse("other"), None);
    }
}
