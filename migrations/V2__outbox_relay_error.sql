-- A row the relay cannot produce (unknown type, invalid payload) is marked
-- with the reason and skipped, so it never blocks the rows behind it.
ALTER TABLE outbox ADD COLUMN relay_error TEXT;
