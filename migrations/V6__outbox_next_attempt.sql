-- Redelivery decides due-ness in SQL. The relay used to take the first 500
-- idle unacknowledged rows and check each one's doubling backoff in Rust, so
-- rows 501+ waited until the first 500 gave up (~45 min by default).
-- `next_attempt_at` is when a re-published row is due again (NULL: never
-- re-published yet, due `--redeliver-after-secs` after `created_at`); each
-- case has a partial index matching its half of the query.
ALTER TABLE outbox ADD COLUMN next_attempt_at TIMESTAMP;

UPDATE outbox SET next_attempt_at = last_published_at
WHERE last_published_at IS NOT NULL AND consumed_at IS NULL AND gave_up_at IS NULL;

CREATE INDEX outbox_redeliver_first_idx ON outbox (created_at)
    WHERE consumed_at IS NULL AND gave_up_at IS NULL AND relay_error IS NULL
      AND next_attempt_at IS NULL;
CREATE INDEX outbox_redeliver_again_idx ON outbox (next_attempt_at)
    WHERE consumed_at IS NULL AND gave_up_at IS NULL AND relay_error IS NULL
      AND next_attempt_at IS NOT NULL;
