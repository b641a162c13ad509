-- Accounts for the users service (identity issue).
--
-- * Accounts that sign in only through a provider may have no email (a
--   GitHub user without a public address, a Facebook user who withholds
--   it). The unique index on lower(email) lets any number of NULLs through.
-- * A refresh-token family has an absolute end: rotation never extends a
--   session past `expires_at`.
-- * A rotated token remembers its successor's hash: within the reuse
--   interval the same old token is answered with the same successor (two
--   browser tabs refreshing at once), after it the whole family is revoked.
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;

ALTER TABLE refresh_token_families
    ADD COLUMN expires_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC');
ALTER TABLE refresh_token_families ALTER COLUMN expires_at DROP DEFAULT;

ALTER TABLE refresh_tokens ADD COLUMN successor_hash TEXT;

-- Rotates one refresh token atomically (one call: DESIGN.md, no transaction
-- outlives a request). The row lock serialises concurrent uses of the same
-- token, so two racing refreshes see each other's rotation.
--
-- outcome:
--   'rotated'  the successor is valid (new, or the same one again within
--              p_reuse_secs of the rotation); user_id and role are returned
--   'reused'   an already rotated token came back too late: the family is
--              revoked, the newest token included (RFC 9700 §4.14.2)
--   'invalid'  unknown, expired, or of a revoked or ended family
CREATE FUNCTION rotate_refresh_token(
    p_hash TEXT,
    p_successor_hash TEXT,
    p_ttl_secs INTEGER,
    p_reuse_secs INTEGER
) RETURNS TABLE (outcome TEXT, user_id BIGINT, role TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    now_utc TIMESTAMP := now() AT TIME ZONE 'UTC';
    tok refresh_tokens%ROWTYPE;
    fam refresh_token_families%ROWTYPE;
BEGIN
    SELECT * INTO tok FROM refresh_tokens WHERE token_hash = p_hash FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'invalid'::TEXT, NULL::BIGINT, NULL::TEXT;
        RETURN;
    END IF;
    SELECT * INTO fam FROM refresh_token_families WHERE id = tok.family_id FOR UPDATE;
    IF fam.revoked_at IS NOT NULL OR fam.expires_at <= now_utc OR tok.expires_at <= now_utc THEN
        RETURN QUERY SELECT 'invalid'::TEXT, NULL::BIGINT, NULL::TEXT;
        RETURN;
    END IF;
    IF tok.rotated_at IS NULL THEN
        UPDATE refresh_tokens SET rotated_at = now_utc, successor_hash = p_successor_hash
        WHERE token_hash = p_hash;
        INSERT INTO refresh_tokens (token_hash, family_id, expires_at)
        VALUES (p_successor_hash, fam.id,
                LEAST(now_utc + make_interval(secs => p_ttl_secs), fam.expires_at));
    ELSIF tok.successor_hash IS DISTINCT FROM p_successor_hash
          OR tok.rotated_at + make_interval(secs => p_reuse_secs) < now_utc THEN
        UPDATE refresh_token_families SET revoked_at = now_utc WHERE id = fam.id;
        RETURN QUERY SELECT 'reused'::TEXT, fam.user_id, NULL::TEXT;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'rotated'::TEXT, u.id, u.role FROM users u WHERE u.id = fam.user_id;
END;
$$;
