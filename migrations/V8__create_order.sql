-- Orders (groundwork for the orders service): an order is created by ONE
-- call of `create_order` (DESIGN.md: no transaction outlives a request), which
-- reads prices from the catalog (never from the client), reserves stock with
-- conditional decrements that cannot go below zero, writes the order, its
-- items and the `order.created` outbox row, and remembers an
-- Idempotency-Key — or changes nothing at all.

-- Stripe's semantics: the same key from the same user within 24 h returns
-- the first order; the same key with another request is refused.
CREATE TABLE idempotency_keys (
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- The merged request's lines ("7x2,9x1"): what the key promised.
    fingerprint TEXT NOT NULL,
    order_id    BIGINT NOT NULL REFERENCES orders (id),
    created_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    PRIMARY KEY (user_id, key)
);
-- Purging keys past their 24 hours.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- outcome, per returned row:
--   'created'       one row per product whose stock moved (product_id, the
--                   new stock and row version: the catalog cache is written
--                   through, newer wins); order_id and event (the outbox
--                   payload, to publish after commit) on every row
--   'replayed'      the key's earlier order (order_id); nothing changed
--   'key_mismatch'  the key was used for another request; nothing changed
--   'unknown_product', 'out_of_stock'  product_id names it; nothing changed
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
    event TEXT
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
            IF earlier.fingerprint = p_fingerprint THEN
                RETURN QUERY SELECT 'replayed'::TEXT, earlier.order_id, NULL::BIGINT,
                    NULL::INTEGER, NULL::BIGINT, NULL::TEXT;
            ELSE
                RETURN QUERY SELECT 'key_mismatch'::TEXT, earlier.order_id, NULL::BIGINT,
                    NULL::INTEGER, NULL::BIGINT, NULL::TEXT;
            END IF;
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
            NULL::INTEGER, NULL::BIGINT, NULL::TEXT;
        RETURN;
    END IF;
    SELECT u.id INTO short
    FROM unnest(p_product_ids, p_quantities) AS u (id, qty)
    JOIN products pr ON pr.id = u.id
    WHERE pr.stock < u.qty ORDER BY u.id LIMIT 1;
    IF short IS NOT NULL THEN
        RETURN QUERY SELECT 'out_of_stock'::TEXT, NULL::BIGINT, short,
            NULL::INTEGER, NULL::BIGINT, NULL::TEXT;
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
                      'product_id', i.product_id, 'quantity', i.quantity, 'price', i.price)
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
    RETURNING 'created'::TEXT, new_order, p.id, p.stock, p.version, payload::TEXT;
END;
$$;
