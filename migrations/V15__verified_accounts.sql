-- Proven email addresses (issue 23, docs/decisions/0005 §4c).
--
-- * `users.email_verified_at`: when the account's address was proven. Until
--   now only a provider could prove one, and only a provider-verified email
--   was ever linked to an account or kept on a provider-created one, so an
--   account whose email equals one of its identities' is verified.
-- * Pre-account hijacking: someone registers `victim@…` with a password
--   and waits for the victim to sign in with Google. When a provider proves
--   the email of an account that is unverified and has a password, that
--   password was never shown to belong to the address's owner: linking
--   clears it, revokes every session, takes the provider's name (the
--   squatter chose the old one) and drops a role the squatter may have been
--   given; the owner keeps the account and can set a password through
--   "forgot password".
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;

UPDATE users u SET email_verified_at = i.created_at
FROM (
    SELECT user_id, lower(email) AS email, min(created_at) AS created_at
    FROM oauth_identities WHERE email IS NOT NULL GROUP BY user_id, lower(email)
) i
WHERE i.user_id = u.id AND i.email = lower(u.email);

-- Links a provider identity whose email the provider verified to the
-- account holding that email, in one statement to the server. `evicted` is
-- true when the account was unverified with a password (see above).
CREATE FUNCTION link_verified_identity(
    p_user BIGINT,
    p_provider TEXT,
    p_subject TEXT,
    p_email TEXT,
    p_name TEXT
) RETURNS TABLE (evicted BOOLEAN)
LANGUAGE plpgsql AS $$
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    squatted BOOLEAN;
BEGIN
    SELECT u.email_verified_at IS NULL AND u.password_hash IS NOT NULL INTO squatted
    FROM users u WHERE u.id = p_user FOR UPDATE;
    INSERT INTO oauth_identities (provider, subject, user_id, email)
    VALUES (p_provider, p_subject, p_user, p_email);
    IF squatted THEN
        UPDATE users SET password_hash = NULL, full_name = p_name, role = 'customer',
                         email_verified_at = now_utc, updated_at = now_utc
        WHERE id = p_user;
        UPDATE refresh_token_families SET revoked_at = now_utc
        WHERE user_id = p_user AND revoked_at IS NULL;
    ELSE
        UPDATE users SET email_verified_at = COALESCE(email_verified_at, now_utc)
        WHERE id = p_user AND email_verified_at IS NULL;
    END IF;
    RETURN QUERY SELECT COALESCE(squatted, false);
END;
$$;
