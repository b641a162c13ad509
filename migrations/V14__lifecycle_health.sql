-- What an operator alerts on about orders ending (issue 22), read by the
-- relay's leader on each maintenance tick and exported on its /metrics:
-- refunds owed and refused, money that came late, and pending orders the
-- sweep should have looked at by now (the maintenance worker or Midtrans
-- is down). Every count is an index scan over a small partial index.

CREATE INDEX payment_attempts_refund_required_idx ON payment_attempts (refund_required_at)
    WHERE refund_required_at IS NOT NULL;
CREATE INDEX payment_attempts_refund_refused_idx ON payment_attempts (refund_refused_at)
    WHERE refund_refused_at IS NOT NULL;

-- An order is overdue when the sweep should have claimed it more than
-- p_grace_secs ago (a healthy sweep runs every 30 s; a claim's lease is
-- 2 minutes).
CREATE FUNCTION lifecycle_health(p_grace_secs INTEGER)
RETURNS TABLE (
    refunds_owed BIGINT,
    refunds_refused BIGINT,
    paid_late BIGINT,
    orders_overdue BIGINT,
    oldest_overdue_secs DOUBLE PRECISION
)
LANGUAGE sql STABLE AS $$
    WITH overdue AS (
        SELECT o.next_check_at FROM orders o
        WHERE o.status = 'pending' AND o.next_check_at IS NOT NULL
          AND o.next_check_at < (now() AT TIME ZONE 'UTC') - make_interval(secs => p_grace_secs)
    )
    SELECT
        (SELECT count(*) FROM payment_attempts a
         WHERE a.refund_required_at IS NOT NULL AND a.refund_requested_at IS NULL
           AND a.refund_refused_at IS NULL),
        (SELECT count(*) FROM payment_attempts a WHERE a.refund_refused_at IS NOT NULL),
        (SELECT count(*) FROM payment_attempts a WHERE a.refund_required_at IS NOT NULL),
        (SELECT count(*) FROM overdue),
        coalesce((SELECT extract(epoch FROM (now() AT TIME ZONE 'UTC') - min(next_check_at))
                  FROM overdue), 0)::DOUBLE PRECISION
$$;
