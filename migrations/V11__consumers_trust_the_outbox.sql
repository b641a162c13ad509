-- The saga's consumers take their facts from the outbox, never from the
-- message; the compensation locks products in id order; redelivery never
-- gives up.

-- A message only names an event. The outbox row of that id says what
-- happened: a message whose id the outbox does not hold as an
-- `order.created` of that order (forged: anyone who can PUBLISH on Redis can
-- send one) changes nothing and is answered 'unknown_event'. Same signature
-- as V9, so a worker of the previous release keeps working.
-- outcome: created | existed | duplicate | not_payable | unknown_event.
CREATE OR REPLACE FUNCTION consume_order_created(p_event_id UUID, p_order_id BIGINT) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    had BOOLEAN;
    pid BIGINT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM outbox
                   WHERE event_id = p_event_id AND event_type = 'order.created'
                     AND aggregate_id = p_order_id) THEN
        RETURN 'unknown_event';
    END IF;
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

-- The `payment.updated` consumer: the payment status is the outbox row's
-- (`p_payment_status`, the message's, is not trusted and no longer read);
-- an id the outbox does not hold as a `payment.updated` of that order is
-- 'unknown_event'. The released products are locked in id order first, the
-- order `create_order` locks them in (V8): an `UPDATE … FROM order_items`
-- alone locks them in the join's order and could deadlock with an order.
-- outcome: released | updated | unchanged | duplicate | ignored | unknown_event.
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

-- Redelivery never gives up any more (the relay re-publishes at its cap for
-- as long as an event is unacknowledged, and its age is an alert): events
-- given up before this release are due again now. `gave_up_at` stays for a
-- relay of the previous release during a rolling deploy; nothing sets it.
UPDATE outbox SET gave_up_at = NULL, next_attempt_at = now() AT TIME ZONE 'UTC'
WHERE gave_up_at IS NOT NULL AND consumed_at IS NULL;
COMMENT ON COLUMN outbox.gave_up_at IS 'unused since V11: redelivery never gives up';
