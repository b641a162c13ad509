-- Retention (issue 22; docs/decisions/0004, docs/events.md "Retention"): the
-- relay's leader calls `prune_retained` on every maintenance tick
-- (`--maintenance-every-secs`, `--prune-batch`). What is kept, and for how
-- long:
--
-- * outbox: a row goes 7 days after its consumer acknowledged it
--   (`consumed_at`) — and, with Kafka on (`p_outbox_needs_relay`), only once
--   it is relayed (`relayed_at`; a row the relay skipped, `relay_error`, is
--   marked relayed too, so it goes 7 days after its consumption like any
--   other). An unacknowledged row is never pruned: it is still re-published.
--   With Kafka off nothing sets `relayed_at`, so consumed rows go unrelayed:
--   a relay later run with brokers produces only the younger ones.
-- * processed_events: 7 days after `processed_at`. Its outbox row was
--   acknowledged in the same statement, so it is no longer re-published;
--   a stray re-publication after both are gone is 'unknown_event' (V11),
--   and one while the outbox row is still kept finds effects that are
--   idempotent beyond the mark (one payment per order, orders move forward
--   only, stock is released once).
-- * payment_notifications: unverified verdicts ('bad_signature',
--   'malformed', 'unknown_order', 'amount_mismatch', 'unconfirmed') 7 days
--   after `received_at`; verified ones ('applied', 'already_applied', and
--   any verdict not listed as unverified) 400 days (a year of audit, plus a
--   month's slack for a disputed payment).
-- * idempotency_keys: 24 hours after `created_at` (create_order already
--   treats an older key as expired and replaces it: V8, V9).
-- * refresh_tokens: 1 day after they expired (`expires_at`) or after their
--   family was revoked or ended (either is already 'invalid' to
--   rotate_refresh_token, V7, so pruning answers nothing differently).
-- * refresh_token_families: 1 day after they were revoked or ended, once
--   none of their tokens is left.
--
-- Every prune takes at most `p_limit` rows per table per call, oldest
-- first, picked with FOR UPDATE SKIP LOCKED: two overlapping calls (two
-- relays during a leadership change, an operator's call) never wait for
-- each other and never delete a row twice. Each has an index it walks from
-- its oldest row.

-- Outbox rows acknowledged, by acknowledgement time.
CREATE INDEX outbox_consumed_idx ON outbox (consumed_at) WHERE consumed_at IS NOT NULL;
-- create_order's Idempotency-Key replay (V9) reads an order's order.created
-- payload: an index lookup instead of a scan of the whole outbox.
CREATE INDEX outbox_order_created_idx ON outbox (aggregate_id) WHERE event_type = 'order.created';
CREATE INDEX processed_events_processed_idx ON processed_events (processed_at);
CREATE INDEX payment_notifications_unverified_idx ON payment_notifications (received_at)
    WHERE verdict IN ('bad_signature', 'malformed', 'unknown_order', 'amount_mismatch', 'unconfirmed');
CREATE INDEX payment_notifications_received_idx ON payment_notifications (received_at);
-- (idempotency_keys_created_idx, V8, serves its prune.)
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
-- When a family stopped being usable: revoked, or else ended (LEAST skips NULLs).
CREATE INDEX refresh_token_families_ended_idx
    ON refresh_token_families ((LEAST(revoked_at, expires_at)));

-- One row per table: how many rows this call deleted (at most p_limit).
CREATE FUNCTION prune_retained(p_limit INTEGER, p_outbox_needs_relay BOOLEAN)
RETURNS TABLE (table_name TEXT, pruned BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    -- The policy's defaults (see the top of this file).
    outbox_after INTERVAL := interval '7 days';
    processed_after INTERVAL := interval '7 days';
    unverified_after INTERVAL := interval '7 days';
    verified_after INTERVAL := interval '400 days';
    idempotency_after INTERVAL := interval '24 hours';
    refresh_after INTERVAL := interval '1 day';
    lim INTEGER := GREATEST(coalesce(p_limit, 0), 0);
    n BIGINT;
    more BIGINT;
BEGIN
    DELETE FROM outbox o WHERE o.id = ANY (ARRAY(
        SELECT x.id FROM outbox x
        WHERE x.consumed_at IS NOT NULL AND x.consumed_at < now_utc - outbox_after
          AND (x.relayed_at IS NOT NULL OR NOT p_outbox_needs_relay)
        ORDER BY x.consumed_at LIMIT lim
        FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT;
    table_name := 'outbox'; pruned := n; RETURN NEXT;

    DELETE FROM processed_events p WHERE p.ctid = ANY (ARRAY(
        SELECT x.ctid FROM processed_events x
        WHERE x.processed_at < now_utc - processed_after
        ORDER BY x.processed_at LIMIT lim
        FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT;
    table_name := 'processed_events'; pruned := n; RETURN NEXT;

    DELETE FROM payment_notifications p WHERE p.id = ANY (ARRAY(
        SELECT x.id FROM payment_notifications x
        WHERE x.verdict IN ('bad_signature', 'malformed', 'unknown_order', 'amount_mismatch', 'unconfirmed')
          AND x.received_at < now_utc - unverified_after
        ORDER BY x.received_at LIMIT lim
        FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM payment_notifications p WHERE p.id = ANY (ARRAY(
        SELECT x.id FROM payment_notifications x
        WHERE x.received_at < now_utc - verified_after
        ORDER BY x.received_at LIMIT lim - n
        FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS more = ROW_COUNT;
    table_name := 'payment_notifications'; pruned := n + more; RETURN NEXT;

    DELETE FROM idempotency_keys k WHERE k.ctid = ANY (ARRAY(
        SELECT x.ctid FROM idempotency_keys x
        WHERE x.created_at < now_utc - idempotency_after
        ORDER BY x.created_at LIMIT lim
        FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT;
    table_name := 'idempotency_keys'; pruned := n; RETURN NEXT;

    -- Expired tokens, then the tokens of revoked (or ended) families.
    DELETE FROM refresh_tokens t WHERE t.token_hash = ANY (ARRAY(
        SELECT x.token_hash FROM refresh_tokens x
        WHERE x.expires_at < now_utc - refresh_after
        ORDER BY x.expires_at LIMIT lim
        FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM refresh_tokens t WHERE t.token_hash = ANY (ARRAY(
        SELECT x.token_hash FROM refresh_token_families f
        JOIN refresh_tokens x ON x.family_id = f.id
        WHERE LEAST(f.revoked_at, f.expires_at) < now_utc - refresh_after
        ORDER BY LEAST(f.revoked_at, f.expires_at) LIMIT lim - n
        FOR UPDATE OF x SKIP LOCKED));
    GET DIAGNOSTICS more = ROW_COUNT;
    table_name := 'refresh_tokens'; pruned := n + more; RETURN NEXT;

    DELETE FROM refresh_token_families f WHERE f.id = ANY (ARRAY(
        SELECT y.id FROM refresh_token_families y
        WHERE LEAST(y.revoked_at, y.expires_at) < now_utc - refresh_after
          -- OFFSET 0 keeps this a per-family probe of refresh_tokens_family_idx
          -- along the index above: as an anti join the planner may hash the
          -- whole token table instead.
          AND NOT EXISTS (SELECT 1 FROM refresh_tokens x WHERE x.family_id = y.id OFFSET 0)
        ORDER BY LEAST(y.revoked_at, y.expires_at) LIMIT lim
        FOR UPDATE SKIP LOCKED));
    GET DIAGNOSTICS n = ROW_COUNT;
    table_name := 'refresh_token_families'; pruned := n; RETURN NEXT;
END;
$$;
