-- Personal API keys (issue 15 §3): a program acts for its owner with `Authorization: Bearer
-- ks_…`. Only the key's SHA-256 is stored (a 256-bit random key needs no slow hash: there is
-- nothing to guess, and a lookup by hash must be possible); `prefix` is the first characters,
-- shown so the owner can tell keys apart. `scopes` is a space-separated list of
-- `posts:read`, `posts:write`, `posts:publish`. Revoking deletes the row: the next request
-- with the key is refused. Closing the account, erasure, a password change and a reset delete
-- every key of the account.
CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL,                 -- SHA-256 of the key, 64 hex digits
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

-- The Publish click and each request record the key they came with. No foreign key: the
-- receipt and the log entry outlive a revoked key (the receipt is immutable history).
ALTER TABLE consent_receipts ADD COLUMN api_key_id UUID;
ALTER TABLE usage_log ADD COLUMN api_key_id UUID;
