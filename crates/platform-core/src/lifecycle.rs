//! How a pending order ends, as pure logic: when it is due to expire, which
//! of its payment attempts to ask Midtrans about, and when to look again.
//! The payments service runs it for each order the sweep claims (and for a
//! customer's cancel); the SQL of V13 claims, closes and reschedules.

use crate::payment::PaymentStatus;

/// Longest wait between two status checks of a started payment.
pub const MAX_CHECK_INTERVAL_SECS: f64 = 3600.0;
/// First wait between status checks; doubled per check.
pub const FIRST_CHECK_INTERVAL_SECS: f64 = 60.0;

/// One payment attempt as the sweep sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptView {
    pub gateway_order_id: String,
    /// Snap gave a token: the payer may have reached Midtrans's page.
    pub has_token: bool,
    /// Seconds until the Snap window closes (negative: closed).
    pub secs_left: f64,
    /// What Midtrans last confirmed for it, if anything.
    pub transaction_status: Option<String>,
}

/// A pending order with its payment's attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderView {
    pub order_id: i64,
    pub user_id: i64,
    /// `None` while the saga has not given the order a payment yet.
    pub payment_status: Option<PaymentStatus>,
    pub age_secs: f64,
    /// Status checks made so far (the backoff).
    pub checks: i32,
    pub attempts: Vec<AttemptView>,
}

/// What to do with a claimed order now.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Attempts whose status to ask Midtrans first (a paid one wins).
    pub ask: Vec<String>,
    /// The order's time is up: close every attempt at Midtrans, then expire it.
    pub due: bool,
    /// When not due: seconds until the next look.
    pub next_in_secs: f64,
}

impl OrderView {
    /// Whether a payer may have started paying (Snap gave a token).
    fn started(&self) -> bool {
        self.attempts.iter().any(|a| a.has_token)
    }

    /// Seconds until the order expires: `unpaid_ttl_secs` after it was
    /// placed, or when the last started attempt's Snap window closes,
    /// whichever is later (the payer's window is never cut short).
    pub fn secs_to_expiry(&self, unpaid_ttl_secs: f64) -> f64 {
        self.attempts
            .iter()
            .filter(|a| a.has_token)
            .map(|a| a.secs_left)
            .fold(unpaid_ttl_secs - self.age_secs, f64::max)
    }

    /// The sweep's step for this order.
    pub fn step(&self, unpaid_ttl_secs: f64) -> Step {
        let left = self.secs_to_expiry(unpaid_ttl_secs);
        if left <= 0.0 {
            // Every attempt: one whose Snap reply was lost is known to
            // Midtrans too.
            return Step {
                ask: self
                    .attempts
                    .iter()
                    .map(|a| a.gateway_order_id.clone())
                    .collect(),
                due: true,
                next_in_secs: 0.0,
            };
        }
        let ask: Vec<String> = self
            .attempts
            .iter()
            .filter(|a| a.has_token)
            .map(|a| a.gateway_order_id.clone())
            .collect();
        let next = if self.started() {
            check_interval(self.checks).min(left)
        } else {
            left
        };
        Step {
            ask,
            due: false,
            next_in_secs: next.max(1.0),
        }
    }
}

/// The wait after `checks` status checks: 1 min, doubling, at most 1 h.
pub fn check_interval(checks: i32) -> f64 {
    let doublings = checks.clamp(0, 16);
    (FIRST_CHECK_INTERVAL_SECS * f64::from(1u32 << doublings)).min(MAX_CHECK_INTERVAL_SECS)
}

/// Whether a status Midtrans confirmed is worth applying: a final status
/// the payment has not recorded for this attempt yet (re-applying the same
/// one would only add audit rows).
pub fn worth_applying(
    confirmed: PaymentStatus,
    transaction_status: &str,
    known: Option<&str>,
) -> bool {
    confirmed != PaymentStatus::Pending && known != Some(transaction_status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(id: &str, has_token: bool, secs_left: f64) -> AttemptView {
        AttemptView {
            gateway_order_id: id.into(),
            has_token,
            secs_left,
            transaction_status: None,
        }
    }

    fn order(age_secs: f64, checks: i32, attempts: Vec<AttemptView>) -> OrderView {
        OrderView {
            order_id: 1,
            user_id: 2,
            payment_status: Some(PaymentStatus::Pending),
            age_secs,
            checks,
            attempts,
        }
    }

    #[test]
    fn an_order_never_started_waits_for_its_ttl_without_asking() {
        let o = order(100.0, 0, vec![attempt("a1", false, 86_000.0)]);
        let step = o.step(1800.0);
        assert_eq!(
            step,
            Step {
                ask: vec![],
                due: false,
                next_in_secs: 1700.0
            }
        );
    }

    #[test]
    fn an_order_never_started_expires_after_its_ttl_and_asks_every_attempt() {
        let o = order(1800.0, 0, vec![attempt("a1", false, 84_600.0)]);
        let step = o.step(1800.0);
        assert!(step.due);
        assert_eq!(step.ask, vec!["a1".to_string()]);
        // No payment yet (the saga is behind): due all the same.
        let mut bare = order(1801.0, 0, vec![]);
        bare.payment_status = None;
        assert!(bare.step(1800.0).due);
    }

    #[test]
    fn a_started_payment_keeps_its_snap_window_and_is_asked_with_backoff() {
        let o = order(
            5000.0,
            3,
            vec![attempt("a1", true, 3600.0), attempt("a2", false, 80_000.0)],
        );
        let step = o.step(1800.0);
        assert!(!step.due, "the Snap window is still open");
        assert_eq!(step.ask, vec!["a1".to_string()]);
        assert_eq!(step.next_in_secs, 480.0);
        // The check never lands after the deadline.
        let closing = order(5000.0, 10, vec![attempt("a1", true, 30.0)]);
        assert_eq!(closing.step(1800.0).next_in_secs, 30.0);
    }

    #[test]
    fn the_later_of_ttl_and_window_decides() {
        let o = order(10.0, 0, vec![attempt("a1", true, -5.0)]);
        assert_eq!(o.secs_to_expiry(1800.0), 1790.0);
        let o = order(4000.0, 0, vec![attempt("a1", true, -5.0)]);
        assert!(o.step(1800.0).due);
    }

    #[test]
    fn check_intervals_double_up_to_an_hour() {
        let got: Vec<f64> = (0..8).map(check_interval).collect();
        assert_eq!(
            got,
            vec![60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0]
        );
        assert_eq!(check_interval(i32::MAX), 3600.0);
        assert_eq!(check_interval(-3), 60.0);
    }

    #[test]
    fn only_new_final_statuses_are_applied() {
        assert!(worth_applying(PaymentStatus::Paid, "settlement", None));
        assert!(worth_applying(
            PaymentStatus::Paid,
            "settlement",
            Some("pending")
        ));
        assert!(!worth_applying(
            PaymentStatus::Paid,
            "settlement",
            Some("settlement")
        ));
        assert!(!worth_applying(PaymentStatus::Pending, "pending", None));
    }
}
