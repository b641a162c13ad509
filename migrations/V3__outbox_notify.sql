-- Wakes the relay as soon as events are committed, instead of it finding them
-- at its next poll. Statement-level: one notification per inserting statement;
-- NOTIFY is delivered at commit and duplicates within a transaction fold.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_inserted', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_inserted
    AFTER INSERT ON outbox
    FOR EACH STATEMENT
    EXECUTE FUNCTION outbox_notify();
