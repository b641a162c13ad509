-- The whole system's schema.
-- Rules (see DESIGN.md): money is BIGINT whole rupiah, never float; timestamps are
-- UTC `timestamp` (Spin's Postgres host cannot read `timestamptz`); every list query
-- has an index; every atomic change is a single statement or one SQL function call.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    full_name     TEXT NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    -- Stored lower-cased by the service; the unique index makes that a rule.
    email         TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    -- NULL for accounts that only sign in through an OAuth provider.
    password_hash TEXT,
    role          TEXT NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
    created_at    TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    updated_at    TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- A login starts a family; each refresh rotates the token inside it. Presenting
-- a token that was already rotated away revokes the whole family (reuse detection).
CREATE TABLE refresh_token_families (
    id         UUID PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_token_families_user_idx ON refresh_token_families (user_id);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token, hex; the token itself is never stored.
    token_hash  TEXT PRIMARY KEY,
    family_id   UUID NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    expires_at  TIMESTAMP NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    -- Set when this token is exchanged for the next one.
    rotated_at  TIMESTAMP
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Accounts are keyed on (provider, subject), never on the provider's email.
CREATE TABLE oauth_identities (
    provider   TEXT NOT NULL CHECK (provider IN ('google', 'github', 'facebook')),
    subject    TEXT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oauth_identities_user_idx ON oauth_identities (user_id);

CREATE TABLE products (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    price       BIGINT NOT NULL CHECK (price >= 1),
    stock       INTEGER NOT NULL CHECK (stock >= 0),
    created_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    updated_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    -- Deleted products leave the catalog but stay referenced by past orders.
    deleted_at  TIMESTAMP
);
-- The catalog list: live products, newest first.
CREATE INDEX products_live_idx ON products (id DESC) WHERE deleted_at IS NULL;

CREATE TABLE orders (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id),
    total_price    BIGINT NOT NULL CHECK (total_price >= 0),
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'paid', 'failed', 'expired', 'cancelled')),
    -- Set once, when reserved stock goes back to the catalog (compensation).
    stock_released_at TIMESTAMP,
    created_at     TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    updated_at     TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
-- A user's orders, newest first.
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);
-- Pending orders past their payment window, for expiry sweeps.
CREATE INDEX orders_pending_idx ON orders (created_at) WHERE status = 'pending';

CREATE TABLE order_items (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity   INTEGER NOT NULL CHECK (quantity >= 1),
    -- The catalog price at order time.
    price      BIGINT NOT NULL CHECK (price >= 0),
    UNIQUE (order_id, product_id)
);
CREATE INDEX order_items_product_idx ON order_items (product_id);

CREATE TABLE payments (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- One payment per order: saga redelivery cannot create a second one.
    order_id             BIGINT NOT NULL UNIQUE REFERENCES orders (id),
    amount               BIGINT NOT NULL CHECK (amount >= 1),
    status               TEXT NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'paid', 'failed', 'expired', 'refunded')),
    payment_method       TEXT,
    payment_channel      TEXT,
    -- The order id sent to Midtrans; unique so a notification finds one payment.
    gateway_order_id     TEXT NOT NULL UNIQUE,
    gateway_token        TEXT,
    gateway_redirect_url TEXT,
    -- Last Midtrans transaction status applied, to make notifications idempotent.
    gateway_status       TEXT,
    va_number            TEXT,
    qr_code_url          TEXT,
    expired_at           TIMESTAMP NOT NULL,
    created_at           TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    updated_at           TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX payments_pending_idx ON payments (expired_at) WHERE status = 'pending';

-- The transactional outbox: written in the same statement as the change it
-- announces; the relay produces it to Kafka and re-publishes unacknowledged rows.
CREATE TABLE outbox (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id          UUID NOT NULL UNIQUE,
    event_type        TEXT NOT NULL,
    -- The order id: the Kafka key, so events of one order stay in order.
    aggregate_id      BIGINT NOT NULL,
    payload           JSONB NOT NULL,
    created_at        TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    -- Set by the relay after the broker acknowledged the event.
    relayed_at        TIMESTAMP,
    -- Set by the event's consumer when it has handled it (its acknowledgement).
    consumed_at       TIMESTAMP,
    publish_attempts  INTEGER NOT NULL DEFAULT 0,
    last_published_at TIMESTAMP,
    -- Set when redelivery gave up after its bound; the row is kept.
    gave_up_at        TIMESTAMP
);
CREATE INDEX outbox_unrelayed_idx ON outbox (id) WHERE relayed_at IS NULL;
CREATE INDEX outbox_unconsumed_idx ON outbox (created_at)
    WHERE consumed_at IS NULL AND gave_up_at IS NULL;

-- Consumers record each event id they handled, so a redelivery is a no-op.
CREATE TABLE processed_events (
    consumer     TEXT NOT NULL,
    event_id     UUID NOT NULL,
    processed_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    PRIMARY KEY (consumer, event_id)
);
