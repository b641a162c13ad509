-- Links mailed to prove an address or reset a password (issue 23,
-- docs/decisions/0005 §1, §4a).
--
-- * `account_tokens` (V16: its mails reference it) holds them. A token is
--   derived by the mail worker from the row's random id and a
--   secret only it holds (`auth_core::link`); the request writes the row
--   without a hash, the worker stores the hash when it first mails the link
--   (`issue_account_link`). The outbox, Kafka, Redis and the logs see a UUID
--   at most; a database leak cannot mint a link.
-- * A token works once, before it expires, for its purpose, and only while
--   its email is still the account's.
-- * New links are capped durably (one per 60 s, five per 24 h per account
--   and purpose), whatever Redis says.
-- * The admin role is granted to an `admin_emails` address only once the
--   address is proven (a verify link, a reset link, or a provider): whoever
--   registers an address first no longer becomes an administrator.
-- Asks for a link: a token row and its mail in one statement.
--   'queued'    the mail will go out
--   'unknown'   no account has this address (the route answers the same)
--   'verified'  a verify link for an address already proven
--   'too_soon'  a link of this purpose is younger than 60 s
--   'too_many'  five links of this purpose in 24 h
CREATE FUNCTION request_account_link(p_email TEXT, p_user BIGINT, p_purpose TEXT)
RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    u users%ROWTYPE;
    recent BIGINT;
    youngest TIMESTAMP;
    token UUID;
BEGIN
    IF p_user IS NOT NULL THEN
        SELECT * INTO u FROM users WHERE id = p_user FOR UPDATE;
    ELSE
        SELECT * INTO u FROM users WHERE lower(email) = lower(p_email) FOR UPDATE;
    END IF;
    IF NOT FOUND OR u.email IS NULL THEN
        RETURN 'unknown';
    END IF;
    IF p_purpose = 'verify_email' AND u.email_verified_at IS NOT NULL THEN
        RETURN 'verified';
    END IF;
    SELECT count(*), max(created_at) INTO recent, youngest FROM account_tokens
    WHERE user_id = u.id AND purpose = p_purpose AND created_at > now_utc - interval '24 hours';
    IF youngest > now_utc - interval '60 seconds' THEN
        RETURN 'too_soon';
    END IF;
    IF recent >= 5 THEN
        RETURN 'too_many';
    END IF;
    INSERT INTO account_tokens (user_id, purpose, email) VALUES (u.id, p_purpose, u.email)
    RETURNING id INTO token;
    INSERT INTO mail_deliveries (kind, user_id, account_token_id) VALUES (p_purpose, u.id, token);
    RETURN 'queued';
END;
$$;

-- The mail worker derived the token of p_token: its hash is stored (the
-- same hash again on a retry) and the clock starts at the first issue.
-- Returns the link's seconds left, or NULL when the link is dead (used,
-- expired, the address changed, or another secret made another hash).
CREATE FUNCTION issue_account_link(p_token UUID, p_hash TEXT, p_ttl_secs INTEGER)
RETURNS INTEGER
LANGUAGE sql AS $$
    UPDATE account_tokens t
    SET token_hash = p_hash,
        expires_at = coalesce(t.expires_at,
                              (now() AT TIME ZONE 'UTC') + make_interval(secs => p_ttl_secs))
    FROM users u
    WHERE t.id = p_token AND u.id = t.user_id AND lower(u.email) = lower(t.email)
      AND t.used_at IS NULL
      AND (t.token_hash IS NULL OR t.token_hash = p_hash)
      AND (t.expires_at IS NULL OR t.expires_at > now() AT TIME ZONE 'UTC')
    RETURNING GREATEST(1, floor(extract(epoch FROM
        t.expires_at - (now() AT TIME ZONE 'UTC')))::INTEGER)
$$;

-- Uses a token of p_purpose: one UPDATE … RETURNING, so a token works once.
-- The account's id, or NULL.
CREATE FUNCTION use_account_token(p_hash TEXT, p_purpose TEXT)
RETURNS BIGINT
LANGUAGE sql AS $$
    UPDATE account_tokens t SET used_at = now() AT TIME ZONE 'UTC'
    FROM users u
    WHERE t.token_hash = p_hash AND t.purpose = p_purpose AND t.used_at IS NULL
      AND t.expires_at > now() AT TIME ZONE 'UTC'
      AND u.id = t.user_id AND lower(u.email) = lower(t.email)
    RETURNING t.user_id
$$;

-- A verify link: the address is proven, and an `admin_emails` address
-- becomes an administrator. 'verified' or 'invalid'.
CREATE FUNCTION use_verify_link(p_hash TEXT, p_admin_emails TEXT[])
RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    account BIGINT := use_account_token(p_hash, 'verify_email');
BEGIN
    IF account IS NULL THEN
        RETURN 'invalid';
    END IF;
    UPDATE users SET
        email_verified_at = coalesce(email_verified_at, now() AT TIME ZONE 'UTC'),
        role = CASE WHEN lower(email) = ANY (p_admin_emails) THEN 'admin' ELSE role END,
        updated_at = now() AT TIME ZONE 'UTC'
    WHERE id = account;
    RETURN 'verified';
END;
$$;

-- Every session of an account ends, and it is told its password changed.
CREATE FUNCTION password_was_set(p_user BIGINT) RETURNS VOID
LANGUAGE sql AS $$
    UPDATE refresh_token_families SET revoked_at = now() AT TIME ZONE 'UTC'
    WHERE user_id = p_user AND revoked_at IS NULL;
    INSERT INTO mail_deliveries (kind, user_id) VALUES ('password_changed', p_user);
$$;

-- A reset link and a new password hash: the password is set, every reset
-- link of the account is used up, every session ends, the address counts
-- as proven (the link reached it). The account's id, or NULL (invalid).
CREATE FUNCTION reset_password(p_hash TEXT, p_password_hash TEXT)
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    account BIGINT := use_account_token(p_hash, 'reset_password');
BEGIN
    IF account IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE account_tokens SET used_at = now() AT TIME ZONE 'UTC'
    WHERE user_id = account AND purpose = 'reset_password' AND used_at IS NULL;
    UPDATE users SET password_hash = p_password_hash,
        email_verified_at = coalesce(email_verified_at, now() AT TIME ZONE 'UTC'),
        updated_at = now() AT TIME ZONE 'UTC'
    WHERE id = account;
    PERFORM password_was_set(account);
    RETURN account;
END;
$$;

-- A signed-in change: the new hash replaces exactly the hash the caller's
-- current password was checked against (a concurrent change wins, this one
-- is refused). Every session ends; the route starts a new one for the
-- caller. 'changed' or 'stale'.
CREATE FUNCTION change_password(p_user BIGINT, p_checked_hash TEXT, p_password_hash TEXT)
RETURNS TEXT
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET password_hash = p_password_hash, updated_at = now() AT TIME ZONE 'UTC'
    WHERE id = p_user AND password_hash = p_checked_hash;
    IF NOT FOUND THEN
        RETURN 'stale';
    END IF;
    PERFORM password_was_set(p_user);
    RETURN 'changed';
END;
$$;

-- Tokens are pruned a day after use or expiry (a week if never issued).
CREATE FUNCTION prune_account_tokens(p_limit INTEGER) RETURNS BIGINT
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM account_tokens t WHERE t.id = ANY (ARRAY(
            SELECT x.id FROM account_tokens x
            WHERE coalesce(x.used_at, x.expires_at, x.created_at + interval '6 days')
                  < (now() AT TIME ZONE 'UTC') - interval '1 day'
            LIMIT GREATEST(coalesce(p_limit, 0), 0)
            FOR UPDATE SKIP LOCKED))
        RETURNING 1)
    SELECT count(*) FROM gone
$$;
