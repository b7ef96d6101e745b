-- Data-subject rights, Meta's callbacks, retention sweeps and policy notices (P15, P18, P19,
-- P28, P34, P38).

-- The app-scoped Meta user id of whoever connected an Instagram account, as hex SHA-256 (never
-- in clear), so that Meta's data-deletion and deauthorize callbacks can find that person's
-- connections. NULL for connections made before this column existed.
ALTER TABLE instagram_connections ADD COLUMN meta_user_hash TEXT;
CREATE INDEX instagram_connections_meta_user_idx ON instagram_connections (meta_user_hash)
    WHERE meta_user_hash IS NOT NULL;

CREATE INDEX meta_deletion_requests_hash_idx ON meta_deletion_requests (app_user_hash);

-- A notice about one subject (e.g. `policy:2026-02`) reaches a user once, however often its
-- publication is retried; `mailed_at` records that its email went out.
ALTER TABLE notices ADD COLUMN subject_key TEXT;
ALTER TABLE notices ADD COLUMN mailed_at TEXT;
CREATE UNIQUE INDEX notices_user_subject_key ON notices (user_id, subject_key);

-- What the retention sweeps select by.
CREATE INDEX users_closed_at_idx ON users (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX password_reset_tokens_expires_idx ON password_reset_tokens (expires_at);
CREATE INDEX oauth_states_expires_idx ON oauth_states (expires_at);
