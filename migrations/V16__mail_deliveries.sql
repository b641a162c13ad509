-- Transactional mail through the saga (issue 23, docs/decisions/0005 §2).
--
-- * Intent is written with the fact: a trigger on the outbox inserts the
--   mail an event calls for in the event's own transaction, for every outbox
--   writer, present and future. One event, one row (`event_id` is unique),
--   so a redelivered message can never make a second mail.
-- * `mail-worker` claims due rows (FOR UPDATE SKIP LOCKED, then a lease:
--   the provider call happens outside the claiming statement), sends each
--   with `Idempotency-Key: mail-<id>` and records the outcome in one
--   statement. A transient failure is retried on a backing-off schedule,
--   never given up; a mail the provider refuses for good ends.
-- * A mail waits while an earlier mail of the same order is unsent, so
--   "paid" never arrives before "placed".
-- * While the provider says it is rate-limited or over quota, nothing is
--   claimed (`mail_provider.paused_until`).
-- The links mailed to prove an address or reset a password (V17 uses
-- them): the hash is set when the mail worker first mails the link.
CREATE TABLE account_tokens (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    email       TEXT NOT NULL,
    token_hash  TEXT UNIQUE,
    expires_at  TIMESTAMP,
    used_at     TIMESTAMP,
    created_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at);

CREATE TABLE mail_deliveries (
    -- Also the provider's idempotency key (`mail-<id>`).
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    kind                TEXT NOT NULL CHECK (kind IN (
                            'order_placed', 'order_paid', 'order_failed', 'order_expired',
                            'order_cancelled', 'refund_required', 'verify_email',
                            'reset_password', 'password_changed', 'password_removed')),
    user_id             BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id            UUID UNIQUE,
    -- The link a verify_email / reset_password mail carries.
    account_token_id    UUID UNIQUE REFERENCES account_tokens (id) ON DELETE CASCADE,
    order_id            BIGINT,
    created_at          TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    -- When the row is next due; a claim pushes it past the lease.
    next_attempt_at     TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    attempts            INTEGER NOT NULL DEFAULT 0,
    sent_at             TIMESTAMP,
    provider_message_id TEXT,
    ended_at            TIMESTAMP,
    -- no_address, refused:<provider error name>, stale, stale_secret
    end_reason          TEXT,
    last_error          TEXT,
    CHECK (sent_at IS NULL OR ended_at IS NULL)
);
CREATE INDEX mail_deliveries_due_idx ON mail_deliveries (next_attempt_at)
    WHERE sent_at IS NULL AND ended_at IS NULL;
CREATE INDEX mail_deliveries_order_idx ON mail_deliveries (order_id, created_at)
    WHERE order_id IS NOT NULL AND sent_at IS NULL AND ended_at IS NULL;
CREATE INDEX mail_deliveries_user_idx ON mail_deliveries (user_id);
CREATE INDEX mail_deliveries_done_idx ON mail_deliveries (coalesce(sent_at, ended_at))
    WHERE sent_at IS NOT NULL OR ended_at IS NOT NULL;

-- One row: the provider's pause (429 rate limit or quota).
CREATE TABLE mail_provider (
    id           BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    paused_until TIMESTAMP
);
INSERT INTO mail_provider DEFAULT VALUES;

CREATE FUNCTION outbox_mail_intent() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    mail_kind TEXT;
BEGIN
    mail_kind := CASE NEW.event_type
        WHEN 'order.created' THEN 'order_placed'
        WHEN 'payment.refund_required' THEN 'refund_required'
        WHEN 'payment.updated' THEN CASE NEW.payload ->> 'status'
            WHEN 'paid' THEN 'order_paid'
            WHEN 'failed' THEN 'order_failed'
            WHEN 'expired' THEN 'order_expired'
            WHEN 'cancelled' THEN 'order_cancelled'
            END
        END;
    IF mail_kind IS NOT NULL AND NEW.payload ? 'user_id' THEN
        INSERT INTO mail_deliveries (kind, user_id, event_id, order_id)
        VALUES (mail_kind, (NEW.payload ->> 'user_id')::BIGINT, NEW.event_id, NEW.aggregate_id)
        ON CONFLICT (event_id) DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_mail_intent AFTER INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_mail_intent();

-- Claims up to p_limit due mails for p_lease_secs and returns what each
-- says (`platform_core::mail::Facts` as JSON). Nothing while the provider
-- is paused.
CREATE FUNCTION claim_due_mails(p_limit INTEGER, p_lease_secs INTEGER)
RETURNS TABLE (id UUID, kind TEXT, attempts INTEGER, account_token_id UUID, facts TEXT)
LANGUAGE sql AS $$
    WITH due AS (
        SELECT m.id FROM mail_deliveries m
        WHERE m.sent_at IS NULL AND m.ended_at IS NULL
          AND m.next_attempt_at <= now() AT TIME ZONE 'UTC'
          AND NOT EXISTS (SELECT 1 FROM mail_provider p
                          WHERE p.paused_until > now() AT TIME ZONE 'UTC')
          AND NOT EXISTS (SELECT 1 FROM mail_deliveries e
                          WHERE m.order_id IS NOT NULL AND e.order_id = m.order_id
                            AND e.sent_at IS NULL AND e.ended_at IS NULL
                            AND (e.created_at, e.id) < (m.created_at, m.id))
        ORDER BY m.next_attempt_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), leased AS (
        UPDATE mail_deliveries m
        SET next_attempt_at = (now() AT TIME ZONE 'UTC') + make_interval(secs => p_lease_secs),
            attempts = m.attempts + 1
        FROM due WHERE m.id = due.id
        RETURNING m.id, m.kind, m.attempts, m.user_id, m.order_id, m.account_token_id
    )
    SELECT l.id, l.kind, l.attempts, l.account_token_id, jsonb_build_object(
        'to', u.email,
        'name', u.full_name,
        'order', (SELECT jsonb_build_object(
                      'id', o.id,
                      'total', o.total_price,
                      'items', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                    'product_name', coalesce(p.name, 'Product #' || i.product_id),
                                    'quantity', i.quantity,
                                    'price', i.price) ORDER BY i.product_id), '[]'::jsonb)
                                FROM order_items i LEFT JOIN products p ON p.id = i.product_id
                                WHERE i.order_id = o.id))
                  FROM orders o WHERE o.id = l.order_id),
        'link', NULL,
        'ttl_secs', NULL)::TEXT
    FROM leased l JOIN users u ON u.id = l.user_id
$$;

-- Records one send's outcome in one statement:
--   'sent'     the provider took it (p_detail: its message id, or NULL)
--   'ended'    it will never be sent (p_detail: the reason)
--   'retry'    try again in p_retry_secs (p_detail: the error)
--   'paused'   the provider is rate-limited for p_retry_secs: nothing is
--              claimed until then, this mail included
CREATE FUNCTION finish_mail(p_id UUID, p_outcome TEXT, p_detail TEXT, p_retry_secs INTEGER)
RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    later TIMESTAMP := now_utc + make_interval(secs => GREATEST(coalesce(p_retry_secs, 0), 0));
BEGIN
    CASE p_outcome
    WHEN 'sent' THEN
        UPDATE mail_deliveries SET sent_at = now_utc, provider_message_id = p_detail,
                                   last_error = NULL
        WHERE id = p_id AND sent_at IS NULL AND ended_at IS NULL;
    WHEN 'ended' THEN
        UPDATE mail_deliveries SET ended_at = now_utc, end_reason = p_detail
        WHERE id = p_id AND sent_at IS NULL AND ended_at IS NULL;
    WHEN 'retry' THEN
        UPDATE mail_deliveries SET next_attempt_at = later, last_error = p_detail
        WHERE id = p_id AND sent_at IS NULL AND ended_at IS NULL;
    WHEN 'paused' THEN
        UPDATE mail_provider SET paused_until = GREATEST(coalesce(paused_until, later), later);
        UPDATE mail_deliveries SET next_attempt_at = later, last_error = p_detail
        WHERE id = p_id AND sent_at IS NULL AND ended_at IS NULL;
    ELSE
        RAISE EXCEPTION 'unknown mail outcome %', p_outcome;
    END CASE;
END;
$$;

-- Mail deliveries are kept 30 days after they were sent or ended (what the
-- shop told whom, for support), then pruned with the rest (V12's policy).
CREATE FUNCTION prune_mail_deliveries(p_limit INTEGER) RETURNS BIGINT
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM mail_deliveries m WHERE m.id = ANY (ARRAY(
            SELECT x.id FROM mail_deliveries x
            WHERE (x.sent_at IS NOT NULL OR x.ended_at IS NOT NULL)
              AND coalesce(x.sent_at, x.ended_at) < (now() AT TIME ZONE 'UTC') - interval '30 days'
            ORDER BY coalesce(x.sent_at, x.ended_at) LIMIT GREATEST(coalesce(p_limit, 0), 0)
            FOR UPDATE SKIP LOCKED))
        RETURNING 1)
    SELECT count(*) FROM gone
$$;
