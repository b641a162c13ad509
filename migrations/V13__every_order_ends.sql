-- Every order ends (issue 22): an unpaid order expires, a customer can
-- cancel, a payment whose notification never came is asked for, and money
-- taken for an order that no longer wants it is refunded. The periodic part
-- runs in the `maintenance-worker` (docs/decisions/0004), one bounded batch
-- per `maintenance.tick`; these functions make overlapping runs share the
-- work instead of doubling it.

-- A customer's cancel ends the payment too: `cancelled` is final, like
-- `expired` (its money, if any arrives after, is refunded).
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'paid', 'failed', 'expired', 'cancelled', 'refunded'));

-- When the sweep looks at a pending order next (NULL: never again — it is
-- closing or final), and how many times it asked Midtrans about it (the
-- backoff). A new order is due at once: the sweep learns its deadline.
ALTER TABLE orders
    ADD COLUMN next_check_at TIMESTAMP DEFAULT (now() AT TIME ZONE 'UTC'),
    ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
UPDATE orders SET next_check_at = NULL WHERE status <> 'pending';
CREATE INDEX orders_next_check_idx ON orders (next_check_at)
    WHERE status = 'pending' AND next_check_at IS NOT NULL;

-- Money captured for an attempt whose payment had already ended (paid after
-- expiry or cancel, or a second attempt paid): a refund is owed
-- (`refund_required_at`) until Midtrans accepted the request
-- (`refund_requested_at`), or Midtrans refused it (`refund_refused_at`: not
-- asked again; an operator's to resolve).
ALTER TABLE payment_attempts
    ADD COLUMN refund_required_at TIMESTAMP,
    ADD COLUMN refund_requested_at TIMESTAMP,
    ADD COLUMN refund_refused_at TIMESTAMP;
CREATE INDEX payment_attempts_refund_owed_idx ON payment_attempts (refund_required_at)
    WHERE refund_required_at IS NOT NULL AND refund_requested_at IS NULL
      AND refund_refused_at IS NULL;
CREATE INDEX payment_attempts_payment_idx ON payment_attempts (payment_id);

-- A settlement for a payment that is no longer pending is its own verdict;
-- a status the sweep learnt from the status API (no notification came) is
-- audited like a notification, from source `status_check`.
ALTER TABLE payment_notifications DROP CONSTRAINT payment_notifications_verdict_check;
ALTER TABLE payment_notifications ADD CONSTRAINT payment_notifications_verdict_check
    CHECK (verdict IN (
        'applied', 'already_applied', 'paid_late', 'bad_signature', 'malformed',
        'unknown_order', 'amount_mismatch', 'unconfirmed'));
ALTER TABLE payment_notifications
    ADD COLUMN source TEXT NOT NULL DEFAULT 'webhook' CHECK (source IN ('webhook', 'status_check'));

-- One row per attempt of each order (an order without a payment yet: one
-- row with NULL attempt columns): what the sweep and a cancel decide on.
-- `age_secs` and `secs_left` are measured on the database's clock.
CREATE FUNCTION order_lifecycle(p_order_ids BIGINT[])
RETURNS TABLE (
    order_id BIGINT,
    user_id BIGINT,
    order_status TEXT,
    age_secs DOUBLE PRECISION,
    checks INTEGER,
    payment_status TEXT,
    attempt_id BIGINT,
    gateway_order_id TEXT,
    has_token BOOLEAN,
    secs_left DOUBLE PRECISION,
    transaction_status TEXT
)
LANGUAGE sql STABLE AS $$
    SELECT o.id, o.user_id, o.status,
           extract(epoch FROM (now() AT TIME ZONE 'UTC') - o.created_at)::DOUBLE PRECISION,
           o.checks, p.status, a.id, a.gateway_order_id, a.snap_token IS NOT NULL,
           extract(epoch FROM a.expires_at - (now() AT TIME ZONE 'UTC'))::DOUBLE PRECISION,
           a.transaction_status
    FROM orders o
    LEFT JOIN payments p ON p.order_id = o.id
    LEFT JOIN payment_attempts a ON a.payment_id = p.id
    WHERE o.id = ANY (p_order_ids)
    ORDER BY o.id, a.attempt
$$;

-- Claims up to p_limit pending orders that are due, for p_lease_secs: a
-- second sweep running at the same time skips them (SKIP LOCKED, then the
-- lease), and a sweep that dies mid-way leaves them due again after the
-- lease. Returns their ids (read with `order_lifecycle`).
CREATE FUNCTION claim_due_orders(p_limit INTEGER, p_lease_secs INTEGER)
RETURNS BIGINT[]
LANGUAGE sql AS $$
    WITH due AS (
        SELECT o.id FROM orders o
        WHERE o.status = 'pending' AND o.next_check_at IS NOT NULL
          AND o.next_check_at <= now() AT TIME ZONE 'UTC'
        ORDER BY o.next_check_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), leased AS (
        UPDATE orders o
        SET next_check_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => p_lease_secs)
        FROM due WHERE o.id = due.id
        RETURNING o.id
    )
    SELECT coalesce(array_agg(leased.id), '{}') FROM leased
$$;

-- The sweep's next look at an order it left pending.
CREATE FUNCTION reschedule_order(p_order_id BIGINT, p_in_secs DOUBLE PRECISION)
RETURNS VOID
LANGUAGE sql AS $$
    UPDATE orders SET next_check_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => p_in_secs),
                      checks = checks + 1
    WHERE id = p_order_id AND status = 'pending'
$$;

-- Ends an unpaid order's payment (`expired` by the sweep, `cancelled` by its
-- customer — p_user_id, NULL for the sweep) once Midtrans can no longer take
-- money for it: the payment becomes final, its attempts can no longer be
-- initiated, and `payment.updated` is written, whose consumer moves the order
-- and returns the stock exactly once (V11). An order the saga has not given
-- a payment yet gets one first, so the usual events follow.
-- outcome: closed (event: the payload to publish) | not_found |
-- final (status: what the payment or order already is).
CREATE FUNCTION close_unpaid_order(p_order_id BIGINT, p_status TEXT, p_user_id BIGINT)
RETURNS TABLE (outcome TEXT, status TEXT, event TEXT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    o orders%ROWTYPE;
    pid BIGINT;
    pay payments%ROWTYPE;
    payload JSONB;
BEGIN
    IF p_status NOT IN ('expired', 'cancelled') THEN
        RAISE EXCEPTION 'close_unpaid_order: status %', p_status;
    END IF;
    SELECT * INTO o FROM orders x
    WHERE x.id = p_order_id AND (p_user_id IS NULL OR x.user_id = p_user_id);
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::TEXT, NULL::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    pid := ensure_payment(p_order_id);
    IF pid IS NULL THEN
        RETURN QUERY SELECT 'final'::TEXT, o.status, NULL::TEXT;
        RETURN;
    END IF;
    -- Notifications and initiates of this payment take turns here.
    SELECT * INTO pay FROM payments x WHERE x.id = pid FOR UPDATE;
    IF pay.status <> 'pending' THEN
        RETURN QUERY SELECT 'final'::TEXT, pay.status, NULL::TEXT;
        RETURN;
    END IF;
    UPDATE payments SET status = p_status, updated_at = now_utc WHERE id = pid;
    UPDATE payment_attempts SET expires_at = least(expires_at, now_utc), updated_at = now_utc
    WHERE payment_id = pid;
    UPDATE orders SET next_check_at = NULL WHERE id = p_order_id;
    payload := jsonb_build_object(
        'event_id', gen_random_uuid(),
        'type', 'payment.updated',
        'order_id', p_order_id,
        'user_id', o.user_id,
        'payment_id', pid,
        'amount', pay.amount,
        'status', p_status,
        'previous_status', 'pending',
        'gateway_order_id', pay.gateway_order_id,
        'transaction_status', NULL,
        'fraud_status', NULL,
        'occurred_at', to_char(now_utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
    INSERT INTO outbox (event_id, event_type, aggregate_id, payload)
    VALUES ((payload ->> 'event_id')::UUID, 'payment.updated', p_order_id, payload);
    RETURN QUERY SELECT 'closed'::TEXT, p_status, payload::TEXT;
END;
$$;

-- A notification (or a status the sweep asked for), confirmed by the status
-- API, as in V9, plus: a settlement for an attempt whose payment has already
-- ended — expired or cancelled, failed, or paid by another attempt — is
-- `paid_late`, never `already_applied`: the attempt owes a refund, and
-- `payment.refund_required` is written (for Kafka and the operator; no saga
-- consumer, so it is written acknowledged). outcome: applied | refund_required
-- (event: the payload) | already_applied | unknown_order. Same signature as
-- V9's plus the source.
DROP FUNCTION apply_payment_notification(TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, BYTEA);
CREATE FUNCTION apply_payment_notification(
    p_gateway_order_id TEXT,
    p_next_status TEXT,
    p_transaction_status TEXT,
    p_fraud_status TEXT,
    p_transaction_id TEXT,
    p_payment_type TEXT,
    p_channel TEXT,
    p_va_number TEXT,
    p_raw BYTEA,
    p_source TEXT DEFAULT 'webhook'
) RETURNS TABLE (outcome TEXT, event TEXT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    a payment_attempts%ROWTYPE;
    pay payments%ROWTYPE;
    owner BIGINT;
    latest BOOLEAN;
    moves BOOLEAN;
    payload JSONB;
BEGIN
    SELECT * INTO a FROM payment_attempts x WHERE x.gateway_order_id = p_gateway_order_id;
    IF NOT FOUND THEN
        INSERT INTO payment_notifications (gateway_order_id, raw_body, verdict, source)
        VALUES (p_gateway_order_id, p_raw, 'unknown_order', p_source);
        RETURN QUERY SELECT 'unknown_order'::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    -- Racing notifications, sweeps and cancels of one payment take turns here.
    SELECT * INTO pay FROM payments WHERE id = a.payment_id FOR UPDATE;
    UPDATE payment_attempts SET transaction_status = p_transaction_status,
        fraud_status = p_fraud_status, transaction_id = coalesce(p_transaction_id, transaction_id),
        payment_type = coalesce(p_payment_type, payment_type), updated_at = now_utc
    WHERE id = a.id;
    SELECT o.user_id INTO owner FROM orders o WHERE o.id = pay.order_id;
    latest := NOT EXISTS (SELECT 1 FROM payment_attempts x
                          WHERE x.payment_id = pay.id AND x.attempt > a.attempt);
    moves := (pay.status = 'pending' AND p_next_status IN ('paid', 'failed', 'expired')
              AND (latest OR p_next_status = 'paid'))
          OR (pay.status = 'paid' AND p_next_status = 'refunded'
              AND pay.gateway_order_id = a.gateway_order_id);
    IF NOT moves AND p_next_status = 'paid' AND a.refund_required_at IS NULL
       AND (pay.status IN ('failed', 'expired', 'cancelled')
            OR (pay.status IN ('paid', 'refunded') AND pay.gateway_order_id <> a.gateway_order_id)) THEN
        UPDATE payment_attempts SET refund_required_at = now_utc WHERE id = a.id;
        payload := jsonb_build_object(
            'event_id', gen_random_uuid(),
            'type', 'payment.refund_required',
            'order_id', pay.order_id,
            'user_id', owner,
            'payment_id', pay.id,
            'amount', pay.amount,
            'payment_status', pay.status,
            'gateway_order_id', a.gateway_order_id,
            'transaction_id', coalesce(p_transaction_id, a.transaction_id),
            'transaction_status', p_transaction_status,
            'reason', CASE WHEN pay.status IN ('paid', 'refunded') THEN 'paid_twice'
                           ELSE 'paid_after_' || pay.status END,
            'occurred_at', to_char(now_utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
        INSERT INTO outbox (event_id, event_type, aggregate_id, payload, consumed_at)
        VALUES ((payload ->> 'event_id')::UUID, 'payment.refund_required', pay.order_id,
                payload, now_utc);
        INSERT INTO payment_notifications
            (gateway_order_id, payment_id, raw_body, verdict, confirmed_status, source)
        VALUES (p_gateway_order_id, pay.id, p_raw, 'paid_late', p_transaction_status, p_source);
        RETURN QUERY SELECT 'refund_required'::TEXT, payload::TEXT;
        RETURN;
    END IF;
    IF NOT moves THEN
        INSERT INTO payment_notifications
            (gateway_order_id, payment_id, raw_body, verdict, confirmed_status, source)
        VALUES (p_gateway_order_id, pay.id, p_raw, 'already_applied', p_transaction_status, p_source);
        RETURN QUERY SELECT 'already_applied'::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    UPDATE payments SET status = p_next_status, gateway_status = p_transaction_status,
        fraud_status = p_fraud_status, transaction_id = coalesce(p_transaction_id, transaction_id),
        payment_method = coalesce(p_payment_type, payment_method),
        payment_channel = coalesce(p_channel, payment_channel),
        va_number = coalesce(p_va_number, va_number),
        gateway_order_id = a.gateway_order_id, updated_at = now_utc
    WHERE id = pay.id;
    IF p_next_status <> 'refunded' THEN
        UPDATE orders SET next_check_at = NULL WHERE id = pay.order_id;
    END IF;
    payload := jsonb_build_object(
        'event_id', gen_random_uuid(),
        'type', 'payment.updated',
        'order_id', pay.order_id,
        'user_id', owner,
        'payment_id', pay.id,
        'amount', pay.amount,
        'status', p_next_status,
        'previous_status', pay.status,
        'gateway_order_id', a.gateway_order_id,
        'transaction_status', p_transaction_status,
        'fraud_status', p_fraud_status,
        'occurred_at', to_char(now_utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
    INSERT INTO outbox (event_id, event_type, aggregate_id, payload)
    VALUES ((payload ->> 'event_id')::UUID, 'payment.updated', pay.order_id, payload);
    INSERT INTO payment_notifications
        (gateway_order_id, payment_id, raw_body, verdict, confirmed_status, source)
    VALUES (p_gateway_order_id, pay.id, p_raw, 'applied', p_transaction_status, p_source);
    RETURN QUERY SELECT 'applied'::TEXT, payload::TEXT;
END;
$$;

-- Refunds owed and not yet accepted by Midtrans, oldest first (the sweep
-- asks again; Midtrans's refund_key makes a repeated request harmless).
CREATE FUNCTION refunds_owed(p_limit INTEGER)
RETURNS TABLE (gateway_order_id TEXT, amount BIGINT)
LANGUAGE sql STABLE AS $$
    SELECT a.gateway_order_id, p.amount
    FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
    WHERE a.refund_required_at IS NOT NULL AND a.refund_requested_at IS NULL
      AND a.refund_refused_at IS NULL
    ORDER BY a.refund_required_at
    LIMIT p_limit
$$;

-- The `payment.updated` consumer of V11, with `cancelled` (a customer's
-- cancel) moving the order to `cancelled` and returning its stock.
CREATE OR REPLACE FUNCTION consume_payment_updated(p_event_id UUID, p_order_id BIGINT, p_payment_status TEXT)
RETURNS TABLE (
    outcome TEXT,
    user_id BIGINT,
    product_id BIGINT,
    stock INTEGER,
    version BIGINT,
    name TEXT,
    description TEXT,
    price BIGINT,
    created_at TIMESTAMP,
    updated_at TIMESTAMP
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    paid_status TEXT;
    next_status TEXT;
    owner BIGINT;
BEGIN
    SELECT e.payload ->> 'status' INTO paid_status FROM outbox e
    WHERE e.event_id = p_event_id AND e.event_type = 'payment.updated'
      AND e.aggregate_id = p_order_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown_event'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::INTEGER,
            NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP;
        RETURN;
    END IF;
    UPDATE outbox SET consumed_at = now_utc
    WHERE event_id = p_event_id AND consumed_at IS NULL;
    INSERT INTO processed_events (consumer, event_id) VALUES ('orders', p_event_id)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'duplicate'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::INTEGER,
            NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP;
        RETURN;
    END IF;
    next_status := CASE paid_status
        WHEN 'paid' THEN 'paid' WHEN 'failed' THEN 'failed' WHEN 'expired' THEN 'expired'
        WHEN 'cancelled' THEN 'cancelled' ELSE NULL END;
    IF next_status IS NULL THEN
        RETURN QUERY SELECT 'ignored'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::INTEGER,
            NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP;
        RETURN;
    END IF;
    -- Forward only: a final order never changes again.
    UPDATE orders o SET status = next_status, updated_at = now_utc, version = o.version + 1,
                        next_check_at = NULL
    WHERE o.id = p_order_id AND o.status = 'pending'
    RETURNING o.user_id INTO owner;
    IF owner IS NULL THEN
        RETURN QUERY SELECT 'unchanged'::TEXT, o.user_id, NULL::BIGINT, NULL::INTEGER,
            NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP
            FROM orders o WHERE o.id = p_order_id;
        RETURN;
    END IF;
    IF next_status IN ('failed', 'expired', 'cancelled') THEN
        UPDATE orders o SET stock_released_at = now_utc
        WHERE o.id = p_order_id AND o.stock_released_at IS NULL;
        IF FOUND THEN
            PERFORM 1 FROM products p
            WHERE p.id IN (SELECT i.product_id FROM order_items i WHERE i.order_id = p_order_id)
            ORDER BY p.id FOR UPDATE;
            RETURN QUERY
            UPDATE products p SET stock = p.stock + i.quantity, version = p.version + 1,
                                  updated_at = now_utc
            FROM order_items i
            WHERE i.order_id = p_order_id AND p.id = i.product_id
            RETURNING 'released'::TEXT, owner, p.id, p.stock, p.version,
                      p.name, p.description, p.price, p.created_at, p.updated_at;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT 'updated'::TEXT, owner, NULL::BIGINT, NULL::INTEGER,
        NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP;
END;
$$;
