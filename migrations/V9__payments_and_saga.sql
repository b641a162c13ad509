-- Orders, payments and the saga (issue 12). Every change a request or a
-- worker makes is ONE call of a function below (DESIGN.md: no transaction
-- outlives a request), and every consumer's effect, its dedup mark and its
-- acknowledgement of the outbox row commit together.

-- Orders are cached like products: a writer's entry replaces an older one
-- only (newer wins), so a status change cannot be undone by a slow reader.
ALTER TABLE orders ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- create_order also returns the changed products' rows, so the orders
-- service writes the catalog's cache entries through (newer wins) instead of
-- deleting them (a delete reopens the stale-fill race the catalog avoids).
DROP FUNCTION create_order(BIGINT, BIGINT[], INTEGER[], TEXT, TEXT);
CREATE FUNCTION create_order(
    p_user_id BIGINT,
    p_product_ids BIGINT[],
    p_quantities INTEGER[],
    p_key TEXT,
    p_fingerprint TEXT
) RETURNS TABLE (
    outcome TEXT,
    order_id BIGINT,
    product_id BIGINT,
    stock INTEGER,
    version BIGINT,
    event TEXT,
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
    earlier idempotency_keys%ROWTYPE;
    missing BIGINT;
    short BIGINT;
    new_order BIGINT;
    total BIGINT;
    payload JSONB;
BEGIN
    IF p_key IS NOT NULL THEN
        -- Two requests with one key wait for each other, not for everyone.
        PERFORM pg_advisory_xact_lock(hashtextextended(p_user_id::TEXT || ':' || p_key, 0));
        SELECT * INTO earlier FROM idempotency_keys k
        WHERE k.user_id = p_user_id AND k.key = p_key;
        IF FOUND AND earlier.created_at > now_utc - interval '24 hours' THEN
            -- A replay answers the first response again: the order as it
            -- was created (its order.created payload), whatever it is now.
            RETURN QUERY SELECT
                CASE WHEN earlier.fingerprint = p_fingerprint THEN 'replayed' ELSE 'key_mismatch' END,
                earlier.order_id, NULL::BIGINT, NULL::INTEGER, NULL::BIGINT,
                (SELECT o.payload::TEXT FROM outbox o
                 WHERE o.aggregate_id = earlier.order_id AND o.event_type = 'order.created'
                 LIMIT 1),
                NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP;
            RETURN;
        ELSIF FOUND THEN
            DELETE FROM idempotency_keys k WHERE k.user_id = p_user_id AND k.key = p_key;
        END IF;
    END IF;

    -- Lock the live products in id order (concurrent orders cannot deadlock).
    PERFORM 1 FROM products pr
    WHERE pr.id = ANY (p_product_ids) AND pr.deleted_at IS NULL
    ORDER BY pr.id FOR UPDATE;

    SELECT u.id INTO missing
    FROM unnest(p_product_ids) AS u (id)
    LEFT JOIN products pr ON pr.id = u.id AND pr.deleted_at IS NULL
    WHERE pr.id IS NULL ORDER BY u.id LIMIT 1;
    IF missing IS NOT NULL THEN
        RETURN QUERY SELECT 'unknown_product'::TEXT, NULL::BIGINT, missing,
            NULL::INTEGER, NULL::BIGINT, NULL::TEXT,
            NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP;
        RETURN;
    END IF;
    SELECT u.id INTO short
    FROM unnest(p_product_ids, p_quantities) AS u (id, qty)
    JOIN products pr ON pr.id = u.id
    WHERE pr.stock < u.qty ORDER BY u.id LIMIT 1;
    IF short IS NOT NULL THEN
        RETURN QUERY SELECT 'out_of_stock'::TEXT, NULL::BIGINT, short,
            NULL::INTEGER, NULL::BIGINT, NULL::TEXT,
            pr.name, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP
            FROM products pr WHERE pr.id = short;
        RETURN;
    END IF;

    SELECT sum(pr.price * u.qty) INTO total
    FROM unnest(p_product_ids, p_quantities) AS u (id, qty)
    JOIN products pr ON pr.id = u.id;
    INSERT INTO orders (user_id, total_price) VALUES (p_user_id, total)
    RETURNING id INTO new_order;
    INSERT INTO order_items (order_id, product_id, quantity, price)
    SELECT new_order, u.id, u.qty, pr.price
    FROM unnest(p_product_ids, p_quantities) AS u (id, qty)
    JOIN products pr ON pr.id = u.id ORDER BY u.id;
    payload := jsonb_build_object(
        'event_id', gen_random_uuid(),
        'type', 'order.created',
        'order_id', new_order,
        'user_id', p_user_id,
        'total_price', total,
        'status', 'pending',
        'items', (SELECT jsonb_agg(jsonb_build_object(
                      'id', i.id, 'product_id', i.product_id, 'quantity', i.quantity,
                      'price', i.price)
                      ORDER BY i.product_id)
                  FROM order_items i WHERE i.order_id = new_order),
        'occurred_at', to_char(now_utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'));
    INSERT INTO outbox (event_id, event_type, aggregate_id, payload)
    VALUES ((payload ->> 'event_id')::UUID, 'order.created', new_order, payload);
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (user_id, key, fingerprint, order_id)
        VALUES (p_user_id, p_key, p_fingerprint, new_order);
    END IF;

    -- The decrement is conditional too: the locks make it certain, the
    -- CHECK (stock >= 0) makes it impossible to get wrong.
    RETURN QUERY
    UPDATE products p SET stock = p.stock - u.qty, version = p.version + 1,
                          updated_at = now_utc
    FROM unnest(p_product_ids, p_quantities) AS u (id, qty)
    WHERE p.id = u.id AND p.stock >= u.qty
    RETURNING 'created'::TEXT, new_order, p.id, p.stock, p.version, payload::TEXT,
              p.name, p.description, p.price, p.created_at, p.updated_at;
END;
$$;

-- A payment has attempts: each Snap transaction is one, with its own
-- gateway order id (Midtrans refuses an id twice). A re-initiate after a
-- token expired is a new attempt; the old one is kept as it was.
CREATE TABLE payment_attempts (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id       BIGINT NOT NULL REFERENCES payments (id),
    attempt          INTEGER NOT NULL CHECK (attempt >= 1),
    gateway_order_id TEXT NOT NULL UNIQUE,
    snap_token       TEXT,
    redirect_url     TEXT,
    -- The Snap transaction's expiry (24 h after the attempt began).
    expires_at       TIMESTAMP NOT NULL,
    -- What Midtrans's status API last confirmed for this attempt.
    transaction_id     TEXT,
    transaction_status TEXT,
    fraud_status       TEXT,
    payment_type       TEXT,
    created_at       TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    updated_at       TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    UNIQUE (payment_id, attempt)
);

ALTER TABLE payments
    ADD COLUMN transaction_id TEXT,
    ADD COLUMN fraud_status TEXT;

-- Every notification received, verified or not: the raw body (bounded by the
-- edge's body limit), what was decided, and when.
CREATE TABLE payment_notifications (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- As the notification claims it (a forged one may name anything).
    gateway_order_id TEXT,
    payment_id       BIGINT REFERENCES payments (id),
    raw_body         BYTEA NOT NULL,
    verdict          TEXT NOT NULL CHECK (verdict IN (
        'applied', 'already_applied', 'bad_signature', 'malformed',
        'unknown_order', 'amount_mismatch', 'unconfirmed')),
    -- The status Midtrans's status API confirmed (verified ones only).
    confirmed_status TEXT,
    received_at      TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX payment_notifications_payment_idx ON payment_notifications (payment_id);

-- The next attempt's gateway order id: the order, the attempt number, and a
-- random part so that a reset database never reuses an id Midtrans saw.
CREATE FUNCTION next_gateway_order_id(p_order_id BIGINT, p_attempt INTEGER) RETURNS TEXT
LANGUAGE sql AS $$
    SELECT 'order-' || p_order_id || '-' || p_attempt || '-'
        || left(replace(gen_random_uuid()::TEXT, '-', ''), 8)
$$;

-- The pending payment of a pending order, created once (payments.order_id is
-- unique), with its first attempt. Returns the payment id, or NULL when the
-- order is unknown or no longer pending.
CREATE FUNCTION ensure_payment(p_order_id BIGINT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    o orders%ROWTYPE;
    gateway_id TEXT := next_gateway_order_id(p_order_id, 1);
    pid BIGINT;
BEGIN
    SELECT p.id INTO pid FROM payments p WHERE p.order_id = p_order_id;
    IF FOUND THEN
        RETURN pid;
    END IF;
    SELECT * INTO o FROM orders WHERE id = p_order_id;
    IF NOT FOUND OR o.status <> 'pending' THEN
        RETURN NULL;
    END IF;
    INSERT INTO payments (order_id, amount, gateway_order_id, expired_at)
    VALUES (p_order_id, o.total_price, gateway_id,
            now_utc + interval '24 hours')
    ON CONFLICT (order_id) DO NOTHING
    RETURNING id INTO pid;
    IF pid IS NULL THEN
        -- A concurrent call created it first.
        SELECT p.id INTO pid FROM payments p WHERE p.order_id = p_order_id;
        RETURN pid;
    END IF;
    INSERT INTO payment_attempts (payment_id, attempt, gateway_order_id, expires_at)
    VALUES (pid, 1, gateway_id, now_utc + interval '24 hours');
    RETURN pid;
END;
$$;

-- The `order.created` consumer: the event's pending payment, exactly once,
-- and the outbox row acknowledged. outcome: created | existed | duplicate |
-- not_payable.
CREATE FUNCTION consume_order_created(p_event_id UUID, p_order_id BIGINT) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    had BOOLEAN;
    pid BIGINT;
BEGIN
    UPDATE outbox SET consumed_at = now() AT TIME ZONE 'UTC'
    WHERE event_id = p_event_id AND consumed_at IS NULL;
    INSERT INTO processed_events (consumer, event_id) VALUES ('payments', p_event_id)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN 'duplicate';
    END IF;
    had := EXISTS (SELECT 1 FROM payments WHERE order_id = p_order_id);
    pid := ensure_payment(p_order_id);
    RETURN CASE WHEN pid IS NULL THEN 'not_payable' WHEN had THEN 'existed' ELSE 'created' END;
END;
$$;

-- The `payment.updated` consumer: the order's status moves forward, and on
-- failed / expired / cancelled the reserved stock goes back exactly once
-- (orders.stock_released_at). One row per product whose stock moved (for
-- the catalog cache), else one row with product_id NULL. outcome: released
-- | updated | unchanged | duplicate | ignored.
CREATE FUNCTION consume_payment_updated(p_event_id UUID, p_order_id BIGINT, p_payment_status TEXT)
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
    next_status TEXT;
    owner BIGINT;
BEGIN
    UPDATE outbox SET consumed_at = now_utc
    WHERE event_id = p_event_id AND consumed_at IS NULL;
    INSERT INTO processed_events (consumer, event_id) VALUES ('orders', p_event_id)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'duplicate'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::INTEGER,
            NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP;
        RETURN;
    END IF;
    next_status := CASE p_payment_status
        WHEN 'paid' THEN 'paid' WHEN 'failed' THEN 'failed' WHEN 'expired' THEN 'expired'
        ELSE NULL END;
    IF next_status IS NULL THEN
        RETURN QUERY SELECT 'ignored'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::INTEGER,
            NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, NULL::TIMESTAMP;
        RETURN;
    END IF;
    -- Forward only: a final order never changes again.
    UPDATE orders o SET status = next_status, updated_at = now_utc, version = o.version + 1
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

-- `POST /payment/initiate`: the caller's pending order's payment and the
-- attempt to pay it with. outcome: not_found (unknown or not the caller's) |
-- not_payable | reuse (a valid token: answer it again) | call (ask Snap for
-- this attempt's token; a new attempt when the last one expired).
CREATE FUNCTION open_payment_attempt(p_order_id BIGINT, p_user_id BIGINT)
RETURNS TABLE (
    outcome TEXT,
    payment_id BIGINT,
    attempt_id BIGINT,
    gateway_order_id TEXT,
    snap_token TEXT,
    redirect_url TEXT,
    amount BIGINT,
    expires_at TIMESTAMP,
    status TEXT
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    o orders%ROWTYPE;
    pay payments%ROWTYPE;
    last payment_attempts%ROWTYPE;
    pid BIGINT;
    gateway_id TEXT;
BEGIN
    SELECT * INTO o FROM orders WHERE id = p_order_id AND user_id = p_user_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT,
            NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, o.status;
        RETURN;
    END IF;
    pid := ensure_payment(p_order_id);
    IF pid IS NULL THEN
        RETURN QUERY SELECT 'not_payable'::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT,
            NULL::TEXT, NULL::TEXT, NULL::BIGINT, NULL::TIMESTAMP, o.status;
        RETURN;
    END IF;
    -- Serialises initiates of one payment (the attempt they choose).
    SELECT * INTO pay FROM payments WHERE id = pid FOR UPDATE;
    IF pay.status <> 'pending' OR o.status <> 'pending' THEN
        RETURN QUERY SELECT 'not_payable'::TEXT, pid, NULL::BIGINT, NULL::TEXT,
            NULL::TEXT, NULL::TEXT, pay.amount, NULL::TIMESTAMP, pay.status;
        RETURN;
    END IF;
    SELECT * INTO last FROM payment_attempts a WHERE a.payment_id = pid
    ORDER BY a.attempt DESC LIMIT 1;
    IF last.expires_at <= now_utc THEN
        gateway_id := next_gateway_order_id(p_order_id, last.attempt + 1);
        INSERT INTO payment_attempts (payment_id, attempt, gateway_order_id, expires_at)
        VALUES (pid, last.attempt + 1, gateway_id, now_utc + interval '24 hours')
        RETURNING * INTO last;
        UPDATE payments SET gateway_order_id = gateway_id, gateway_token = NULL,
            gateway_redirect_url = NULL, expired_at = last.expires_at, updated_at = now_utc
        WHERE id = pid;
    END IF;
    RETURN QUERY SELECT CASE WHEN last.snap_token IS NULL THEN 'call' ELSE 'reuse' END,
        pid, last.id, last.gateway_order_id, last.snap_token, last.redirect_url,
        pay.amount, last.expires_at, pay.status;
END;
$$;

-- A verified notification, confirmed by the status API: the attempt keeps
-- what Midtrans said; the payment moves forward only (pending → final,
-- paid → refunded; a failure or expiry of a superseded attempt does not fail
-- the payment), and a move writes `payment.updated` to the outbox; the
-- notification goes to the audit table with its verdict. outcome: applied
-- (event is the payload to publish) | already_applied | unknown_order.
CREATE FUNCTION apply_payment_notification(
    p_gateway_order_id TEXT,
    p_next_status TEXT,
    p_transaction_status TEXT,
    p_fraud_status TEXT,
    p_transaction_id TEXT,
    p_payment_type TEXT,
    p_channel TEXT,
    p_va_number TEXT,
    p_raw BYTEA
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
        INSERT INTO payment_notifications (gateway_order_id, raw_body, verdict)
        VALUES (p_gateway_order_id, p_raw, 'unknown_order');
        RETURN QUERY SELECT 'unknown_order'::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    -- Racing notifications of one payment take turns here.
    SELECT * INTO pay FROM payments WHERE id = a.payment_id FOR UPDATE;
    UPDATE payment_attempts SET transaction_status = p_transaction_status,
        fraud_status = p_fraud_status, transaction_id = coalesce(p_transaction_id, transaction_id),
        payment_type = coalesce(p_payment_type, payment_type), updated_at = now_utc
    WHERE id = a.id;
    latest := NOT EXISTS (SELECT 1 FROM payment_attempts x
                          WHERE x.payment_id = pay.id AND x.attempt > a.attempt);
    moves := (pay.status = 'pending' AND p_next_status IN ('paid', 'failed', 'expired')
              AND (latest OR p_next_status = 'paid'))
          OR (pay.status = 'paid' AND p_next_status = 'refunded');
    IF NOT moves THEN
        INSERT INTO payment_notifications (gateway_order_id, payment_id, raw_body, verdict, confirmed_status)
        VALUES (p_gateway_order_id, pay.id, p_raw, 'already_applied', p_transaction_status);
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
    SELECT o.user_id INTO owner FROM orders o WHERE o.id = pay.order_id;
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
    INSERT INTO payment_notifications (gateway_order_id, payment_id, raw_body, verdict, confirmed_status)
    VALUES (p_gateway_order_id, pay.id, p_raw, 'applied', p_transaction_status);
    RETURN QUERY SELECT 'applied'::TEXT, payload::TEXT;
END;
$$;
