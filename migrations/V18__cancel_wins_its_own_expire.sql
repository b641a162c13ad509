-- A customer's cancel that Midtrans's own expire notification overtakes
-- (issue 22's noted race): the cancel closes every attempt at Midtrans
-- (`POST /v2/{id}/expire`) and only then ends the payment, and Midtrans
-- notifies that expire — sometimes before the cancel's close. That
-- notification used to end the payment `expired`, and the customer's
-- cancel answered 409 "Order N is expired". Now the cancel records its
-- intent on the payment first (`closing`), and an `expire` of a payment
-- being cancelled ends it `cancelled`: the echo of the customer's own
-- request, whichever of the two arrives first.

ALTER TABLE payments ADD COLUMN closing TEXT CHECK (closing IN ('cancelled'));

-- Marks a pending payment of the customer's order as being cancelled,
-- before its attempts are expired at Midtrans. Idempotent; a payment that
-- has ended (or an order that is not theirs) is left alone.
CREATE FUNCTION mark_payment_cancelling(p_order_id BIGINT, p_user_id BIGINT)
RETURNS VOID
LANGUAGE sql AS $$
    UPDATE payments p SET closing = 'cancelled'
    FROM orders o
    WHERE p.order_id = p_order_id AND o.id = p.order_id AND o.user_id = p_user_id
      AND p.status = 'pending' AND p.closing IS NULL
$$;

-- V13's function, with the `expire` of a payment being cancelled ending it
-- `cancelled` (marked "V18" below); nothing else changed.
CREATE OR REPLACE FUNCTION apply_payment_notification(
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
    -- V18: Midtrans's expire of a payment its customer is cancelling is the
    -- cancel's own echo: the payment ends as the customer asked.
    IF p_next_status = 'expired' AND pay.status = 'pending' AND pay.closing = 'cancelled' THEN
        p_next_status := 'cancelled';
    END IF;
    UPDATE payment_attempts SET transaction_status = p_transaction_status,
        fraud_status = p_fraud_status, transaction_id = coalesce(p_transaction_id, transaction_id),
        payment_type = coalesce(p_payment_type, payment_type), updated_at = now_utc
    WHERE id = a.id;
    SELECT o.user_id INTO owner FROM orders o WHERE o.id = pay.order_id;
    latest := NOT EXISTS (SELECT 1 FROM payment_attempts x
                          WHERE x.payment_id = pay.id AND x.attempt > a.attempt);
    moves := (pay.status = 'pending' AND p_next_status IN ('paid', 'failed', 'expired', 'cancelled')
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
