-- The operator (issue 26): every order, payment attempt, notification and
-- event readable without psql; cancels, refunds and role changes through
-- the admin API, each written to an append-only audit trail in the same
-- statement as the change; the anomalies that need a person.

-- The audit trail. Rows are only ever inserted: the trigger refuses an
-- UPDATE or DELETE from anyone, the application included (TRUNCATE, a
-- table owner's reset, stays possible: the bench resets its database).
CREATE TABLE admin_audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id    BIGINT NOT NULL REFERENCES users (id),
    action      TEXT NOT NULL CHECK (action IN ('order.cancel', 'payment.refund', 'user.role')),
    target_type TEXT NOT NULL CHECK (target_type IN ('order', 'payment', 'user')),
    target_id   BIGINT NOT NULL,
    before      JSONB,
    after       JSONB,
    at          TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX admin_audit_actor_idx ON admin_audit (actor_id, id DESC);
CREATE INDEX admin_audit_target_idx ON admin_audit (target_type, target_id, id DESC);

CREATE FUNCTION admin_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'admin_audit is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER admin_audit_append_only BEFORE UPDATE OR DELETE ON admin_audit
    FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_append_only();

-- The operator's lists: every filter a page of GET /admin/orders can have
-- is an index scan in created_at order (EXPLAIN in the tests).
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC, id DESC);
-- An order's events (GET /admin/orders/{id}).
CREATE INDEX outbox_aggregate_idx ON outbox (aggregate_id, id);
-- GET /admin/users?email=<prefix>: a prefix of the stored (lower-case) address.
CREATE INDEX users_email_prefix_idx ON users (lower(email) text_pattern_ops);

-- A refund the operator ordered (the paid attempt of a paid payment): owed
-- like late money, asked by the same sweep, but not money that came late.
ALTER TABLE payment_attempts ADD COLUMN refund_ordered_by BIGINT REFERENCES users (id);

-- V14's health, with `paid_late` counting only money that came late (an
-- operator's refund is not).
CREATE OR REPLACE FUNCTION lifecycle_health(p_grace_secs INTEGER)
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
        (SELECT count(*) FROM payment_attempts a
         WHERE a.refund_required_at IS NOT NULL AND a.refund_ordered_by IS NULL),
        (SELECT count(*) FROM overdue),
        coalesce((SELECT extract(epoch FROM (now() AT TIME ZONE 'UTC') - min(next_check_at))
                  FROM overdue), 0)::DOUBLE PRECISION
$$;

-- The operator's cancel runs the customer's path (V13's close) for any
-- order. Its audit row is written where the payment actually becomes
-- `cancelled` — by the close, or by Midtrans's expire notification that V18
-- turns into `cancelled` and that can arrive first — by a trigger on that
-- one status change, so exactly once, under the payment's lock.
ALTER TABLE payments ADD COLUMN closing_by BIGINT REFERENCES users (id);

-- Marks the order's pending payment as being cancelled by an operator,
-- before anything is closed at Midtrans (creating the payment if the saga
-- has not yet). outcome: marked (also for an unknown or ended order: the
-- cancel answers those) | forbidden (the actor is not an administrator now).
CREATE FUNCTION mark_operator_cancel(p_order_id BIGINT, p_actor BIGINT)
RETURNS TABLE (outcome TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    pid BIGINT;
BEGIN
    -- The token's role may be up to its lifetime old: a write checks it now
    -- (and holds it: a concurrent demotion waits for this statement).
    PERFORM 1 FROM users u WHERE u.id = p_actor AND u.role = 'admin' FOR SHARE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'forbidden'::TEXT;
        RETURN;
    END IF;
    pid := ensure_payment(p_order_id);
    UPDATE payments SET closing = 'cancelled', closing_by = p_actor
    WHERE id = pid AND status = 'pending';
    RETURN QUERY SELECT 'marked'::TEXT;
END;
$$;

CREATE FUNCTION audit_operator_cancel() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO admin_audit (actor_id, action, target_type, target_id, before, after)
    VALUES (NEW.closing_by, 'order.cancel', 'order', NEW.order_id,
            jsonb_build_object('payment_status', OLD.status),
            jsonb_build_object('payment_status', NEW.status));
    RETURN NEW;
END;
$$;
CREATE TRIGGER payments_operator_cancel AFTER UPDATE OF status ON payments
    FOR EACH ROW
    WHEN (NEW.status = 'cancelled' AND OLD.status <> 'cancelled' AND NEW.closing_by IS NOT NULL)
    EXECUTE FUNCTION audit_operator_cancel();

-- The operator's refund of a payment: every attempt holding money that is
-- not refunded and not refused — the paid attempt of a paid payment (now
-- marked owed, ordered by the actor) and attempts whose late money is owed
-- or asked but never confirmed (asked again: the refund key makes it the
-- same refund). One row per attempt to ask Midtrans about (outcome 'refund'), or one
-- row: 'refunded' (nothing left: refunded before), 'nothing' (no money to
-- return), 'not_found'. The audit row is written when attempts are asked.
CREATE FUNCTION operator_refund(p_payment_id BIGINT, p_actor BIGINT)
RETURNS TABLE (outcome TEXT, payment_status TEXT, gateway_order_id TEXT, amount BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    pay payments%ROWTYPE;
    targets TEXT[];
BEGIN
    -- The token's role may be up to its lifetime old: a write checks it now
    -- (and holds it: a concurrent demotion waits for this statement).
    PERFORM 1 FROM users u WHERE u.id = p_actor AND u.role = 'admin' FOR SHARE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'forbidden'::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    SELECT * INTO pay FROM payments p WHERE p.id = p_payment_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::TEXT, NULL::TEXT, NULL::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    SELECT array_agg(a.gateway_order_id ORDER BY a.attempt) INTO targets
    FROM payment_attempts a
    WHERE a.payment_id = pay.id AND a.refund_refused_at IS NULL
      AND coalesce(a.transaction_status, '') NOT IN ('refund', 'partial_refund')
      AND ((pay.status = 'paid' AND a.gateway_order_id = pay.gateway_order_id)
           OR a.refund_required_at IS NOT NULL);
    IF targets IS NULL THEN
        RETURN QUERY SELECT
            CASE WHEN pay.status = 'refunded' THEN 'refunded'
                 WHEN EXISTS (SELECT 1 FROM payment_attempts a WHERE a.payment_id = pay.id
                              AND a.refund_refused_at IS NOT NULL
                              AND coalesce(a.transaction_status, '') NOT IN ('refund', 'partial_refund'))
                 THEN 'refused'
                 ELSE 'nothing' END,
            pay.status, NULL::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    UPDATE payment_attempts a
    SET refund_required_at = coalesce(a.refund_required_at, now_utc),
        refund_ordered_by = CASE WHEN a.refund_required_at IS NULL THEN p_actor
                                 ELSE a.refund_ordered_by END,
        updated_at = now_utc
    WHERE a.gateway_order_id = ANY (targets);
    INSERT INTO admin_audit (actor_id, action, target_type, target_id, before, after)
    VALUES (p_actor, 'payment.refund', 'payment', pay.id,
            jsonb_build_object('status', pay.status),
            jsonb_build_object('refund_requested', to_jsonb(targets)));
    RETURN QUERY SELECT 'refund'::TEXT, pay.status, t, pay.amount FROM unnest(targets) AS t;
END;
$$;

-- The operator's role change, audited when it changes anything. outcome:
-- changed | unchanged | self (an administrator's own role) | not_found |
-- forbidden (the actor is no longer an administrator; also the others').
CREATE FUNCTION set_user_role(p_user_id BIGINT, p_role TEXT, p_actor BIGINT)
RETURNS TABLE (outcome TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    old_role TEXT;
BEGIN
    IF p_user_id = p_actor THEN
        RETURN QUERY SELECT 'self'::TEXT;
        RETURN;
    END IF;
    -- Both rows, in id order: two administrators demoting each other take
    -- turns instead of deadlocking, and the second sees the first's change.
    PERFORM 1 FROM users u WHERE u.id IN (p_actor, p_user_id) ORDER BY u.id FOR NO KEY UPDATE;
    -- The token's role may be up to its lifetime old: a write checks it now.
    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p_actor AND u.role = 'admin') THEN
        RETURN QUERY SELECT 'forbidden'::TEXT;
        RETURN;
    END IF;
    SELECT u.role INTO old_role FROM users u WHERE u.id = p_user_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::TEXT;
        RETURN;
    END IF;
    IF old_role = p_role THEN
        RETURN QUERY SELECT 'unchanged'::TEXT;
        RETURN;
    END IF;
    UPDATE users SET role = p_role, updated_at = now() AT TIME ZONE 'UTC' WHERE id = p_user_id;
    INSERT INTO admin_audit (actor_id, action, target_type, target_id, before, after)
    VALUES (p_actor, 'user.role', 'user', p_user_id,
            jsonb_build_object('role', old_role), jsonb_build_object('role', p_role));
    RETURN QUERY SELECT 'changed'::TEXT;
END;
$$;

-- Refunds asked and not yet confirmed: a set that empties as Midtrans's
-- refund notifications arrive (the anomalies' `refund_unconfirmed`).
CREATE INDEX payment_attempts_refund_unconfirmed_idx ON payment_attempts (refund_requested_at)
    WHERE refund_requested_at IS NOT NULL AND refund_refused_at IS NULL
      AND coalesce(transaction_status, '') NOT IN ('refund', 'partial_refund');

-- What needs a person, oldest first, at most p_limit of each kind, each an
-- index scan: money to return (owed, refused, requested but never
-- confirmed), pending orders whose payment ended (the saga's event was not
-- applied), and events no consumer acknowledged. Statuses only move through
-- the payment's event, so a pending order with an ended payment is what a
-- stuck saga looks like; a paid payment under an unpaid order cannot be
-- reached without that event either, and is its unacknowledged event.
CREATE FUNCTION operator_anomalies(p_older_than_secs INTEGER, p_limit INTEGER)
RETURNS TABLE (kind TEXT, order_id BIGINT, payment_id BIGINT, event_id UUID,
               since TIMESTAMP, detail TEXT)
LANGUAGE sql STABLE AS $$
    WITH cutoff AS (
        SELECT (now() AT TIME ZONE 'UTC') - make_interval(secs => p_older_than_secs) AS t
    )
    (SELECT 'refund_owed', p.order_id, p.id, NULL::UUID, a.refund_required_at, a.gateway_order_id
     FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
     WHERE a.refund_required_at IS NOT NULL AND a.refund_requested_at IS NULL
       AND a.refund_refused_at IS NULL
       AND coalesce(a.transaction_status, '') NOT IN ('refund', 'partial_refund')
     ORDER BY a.refund_required_at LIMIT p_limit)
    UNION ALL
    (SELECT 'refund_refused', p.order_id, p.id, NULL::UUID, a.refund_refused_at, a.gateway_order_id
     FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
     WHERE a.refund_refused_at IS NOT NULL
       AND coalesce(a.transaction_status, '') NOT IN ('refund', 'partial_refund')
     ORDER BY a.refund_refused_at LIMIT p_limit)
    UNION ALL
    (SELECT 'refund_unconfirmed', p.order_id, p.id, NULL::UUID, a.refund_requested_at,
            a.gateway_order_id
     FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
     WHERE a.refund_requested_at IS NOT NULL AND a.refund_refused_at IS NULL
       AND coalesce(a.transaction_status, '') NOT IN ('refund', 'partial_refund')
       AND a.refund_requested_at < (SELECT t FROM cutoff)
     ORDER BY a.refund_requested_at LIMIT p_limit)
    UNION ALL
    (SELECT 'status_mismatch', o.id, p.id, NULL::UUID, p.updated_at, p.status
     FROM orders o JOIN payments p ON p.order_id = o.id
     WHERE o.status = 'pending' AND p.status <> 'pending'
       AND p.updated_at < (SELECT t FROM cutoff)
     ORDER BY p.updated_at LIMIT p_limit)
    UNION ALL
    (SELECT 'event_unacknowledged', e.aggregate_id, NULL::BIGINT, e.event_id, e.created_at,
            e.event_type
     FROM outbox e
     WHERE e.consumed_at IS NULL AND e.gave_up_at IS NULL
       AND e.created_at < (SELECT t FROM cutoff)
     ORDER BY e.created_at LIMIT p_limit)
$$;

-- How many of each kind are open (the relay's metrics; same rules, no limit).
CREATE FUNCTION anomaly_counts(p_older_than_secs INTEGER)
RETURNS TABLE (kind TEXT, open BIGINT)
LANGUAGE sql STABLE AS $$
    WITH cutoff AS (
        SELECT (now() AT TIME ZONE 'UTC') - make_interval(secs => p_older_than_secs) AS t
    )
    SELECT 'refund_owed', count(*) FROM payment_attempts a
    WHERE a.refund_required_at IS NOT NULL AND a.refund_requested_at IS NULL
      AND a.refund_refused_at IS NULL
      AND coalesce(a.transaction_status, '') NOT IN ('refund', 'partial_refund')
    UNION ALL
    SELECT 'refund_refused', count(*) FROM payment_attempts a
    WHERE a.refund_refused_at IS NOT NULL
      AND coalesce(a.transaction_status, '') NOT IN ('refund', 'partial_refund')
    UNION ALL
    SELECT 'refund_unconfirmed', count(*) FROM payment_attempts a
    WHERE a.refund_requested_at IS NOT NULL AND a.refund_refused_at IS NULL
      AND coalesce(a.transaction_status, '') NOT IN ('refund', 'partial_refund')
      AND a.refund_requested_at < (SELECT t FROM cutoff)
    UNION ALL
    SELECT 'status_mismatch', count(*) FROM orders o JOIN payments p ON p.order_id = o.id
    WHERE o.status = 'pending' AND p.status <> 'pending' AND p.updated_at < (SELECT t FROM cutoff)
    UNION ALL
    SELECT 'event_unacknowledged', count(*) FROM outbox e
    WHERE e.consumed_at IS NULL AND e.gave_up_at IS NULL AND e.created_at < (SELECT t FROM cutoff)
$$;

-- The operator's metrics beside the anomalies (the relay's /metrics, every
-- tick): the last day's orders by status and notifications by verdict —
-- index ranges bounded by a day's traffic, never a count of every order.
CREATE FUNCTION operator_counts()
RETURNS TABLE (metric TEXT, label TEXT, value BIGINT)
LANGUAGE sql STABLE AS $$
    SELECT 'orders_24h', o.status, count(*) FROM orders o
    WHERE o.created_at > (now() AT TIME ZONE 'UTC') - interval '1 day'
    GROUP BY o.status
    UNION ALL
    SELECT 'notifications_24h', n.verdict, count(*) FROM payment_notifications n
    WHERE n.received_at > (now() AT TIME ZONE 'UTC') - interval '1 day'
    GROUP BY n.verdict
$$;

-- V13's owed refunds, saying which an operator ordered (Midtrans is told
-- why: late money, or the shop's refund).
DROP FUNCTION refunds_owed(INTEGER);
CREATE FUNCTION refunds_owed(p_limit INTEGER)
RETURNS TABLE (gateway_order_id TEXT, amount BIGINT, ordered BOOLEAN)
LANGUAGE sql STABLE AS $$
    SELECT a.gateway_order_id, p.amount, a.refund_ordered_by IS NOT NULL
    FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
    WHERE a.refund_required_at IS NOT NULL AND a.refund_requested_at IS NULL
      AND a.refund_refused_at IS NULL
    ORDER BY a.refund_required_at
    LIMIT p_limit
$$;
