-- Identity: verified addresses, one-time account links, two-factor sign-in, the server's
-- own secret, and whether a mailed-in message proved its sender. Keep in step with ../sqlite.

-- When the owner proved the address is theirs (a link mailed to it, or an admin's word).
-- Accounts that exist already were made by people who could sign in: taken as verified.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
UPDATE users SET email_verified_at = created_at;
-- TOTP (RFC 6238): the shared secret (base32), set up but not on until a code confirms
-- it; the last time step used, so that a code works once.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- When the pending secret was made: one left unconfirmed for long is made anew.
ALTER TABLE users ADD COLUMN totp_created_at BIGINT;

-- Links mailed to an account's owner (verify the address, reset or set a password).
-- Only a digest of each secret is stored; a link works once, until it expires, and only
-- while its account still has the address it was mailed to.
CREATE TABLE account_tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT   NOT NULL CHECK (purpose IN ('verify', 'reset', 'invite')),
    email      TEXT   NOT NULL, -- the address it was mailed to: good only while it is the account's
    token_hash TEXT   NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

-- Two-factor recovery codes, as digests; each works once.
CREATE TABLE recovery_codes (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT   NOT NULL,
    used_at   BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Secrets of the installation, made once and shared by every app instance (the key that
-- signs our Message-IDs).
CREATE TABLE server_secrets (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- A message that came by mail without proof of its sender (no reply to one of our
-- signed Message-IDs, no passing DMARC/DKIM result): agents see it marked.
ALTER TABLE messages ADD COLUMN sender_verified BOOLEAN NOT NULL DEFAULT TRUE;
