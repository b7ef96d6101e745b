-- kraftsoci: the whole product's schema (SQLite).
--
-- Conventions, shared with migrations/postgres/0001_initial.sql so that both backends run the
-- same queries:
--   * ids are canonical lower-case TEXT here and UUID in PostgreSQL;
--   * timestamps are TEXT `YYYY-MM-DDTHH:MM:SS.ffffffZ` here (UTC, always microseconds, so
--     text order is time order) and TIMESTAMPTZ in PostgreSQL; the application supplies every
--     timestamp from its Clock, never the database's now();
--   * booleans are INTEGER 0/1;
--   * JSON values (hashtag lists, media digests, publish steps) are TEXT holding JSON;
--   * every user-owned row goes away with its user (ON DELETE CASCADE), except payment
--     records, which outlive an account purge for 10 years (P17: ON DELETE SET NULL);
--   * unique constraints have names, and the server maps conflicts by those names (SQLite
--     reports the columns, which store/sqlite.rs maps back to the same names).

-- Accounts (P01: exactly name, email, business name, sector; the password only as bcrypt).
CREATE TABLE users (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    email                   TEXT NOT NULL,
    -- lower-cased email, the login key
    email_normalized        TEXT NOT NULL,
    business_name           TEXT NOT NULL,
    sector                  TEXT NOT NULL,
    password_hash           TEXT NOT NULL CHECK (password_hash LIKE '$2b$%'),
    -- bumped on password change/reset; access tokens carry it (P24)
    token_epoch             INTEGER NOT NULL DEFAULT 0,
    restrict_generation     INTEGER NOT NULL DEFAULT 0,        -- P29
    restrict_publishing     INTEGER NOT NULL DEFAULT 0,        -- P29
    object_usage_log        INTEGER NOT NULL DEFAULT 0,        -- P31
    language                TEXT NOT NULL DEFAULT 'en',            -- P36
    theme                   TEXT NOT NULL DEFAULT 'system'
                            CHECK (theme IN ('light', 'dark', 'system')),
    accepted_policy_version TEXT NOT NULL,                         -- P38
    created_at              TEXT NOT NULL,
    closed_at               TEXT,                           -- P19: processing stops
    purge_after             TEXT,                           -- P19: purge deadline
    CHECK ((closed_at IS NULL) = (purge_after IS NULL))
);
-- One open account per email; a closed account awaiting purge does not block a new sign-up.
CREATE UNIQUE INDEX users_email_key ON users (email_normalized) WHERE closed_at IS NULL;
CREATE INDEX users_purge_after_idx ON users (purge_after) WHERE purge_after IS NOT NULL;

-- Rotating refresh tokens; a family is one login session (RFC 9700 §4.14.2).
CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL,          -- hex SHA-256 of the 256-bit token
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,            -- rotated: presenting it again revokes the family
    revoked_at  TEXT,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

CREATE TABLE password_reset_tokens (
    token_hash  TEXT PRIMARY KEY,       -- hex SHA-256
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

-- The business profile (P02): the only account data a generator sees.
CREATE TABLE profiles (
    user_id         TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    description     TEXT NOT NULL,
    target_audience TEXT NOT NULL,
    tone            TEXT NOT NULL,
    sector          TEXT NOT NULL,
    language        TEXT NOT NULL
);

-- One-time OAuth `state` values bound to a user (10 minutes).
CREATE TABLE oauth_states (
    state_hash  TEXT PRIMARY KEY,       -- hex SHA-256
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX oauth_states_user_idx ON oauth_states (user_id);

-- Connected Instagram business accounts (P03) with their encrypted tokens (P22).
CREATE TABLE instagram_connections (
    id                TEXT PRIMARY KEY,
    owner_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ig_user_id        TEXT NOT NULL,
    page_name         TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('active', 'needs_reconnect')),
    -- vault format (AES-256-GCM, owner-bound); NULL once Meta deauthorized it (P15)
    sealed_token      BLOB,
    -- the key id that sealed it, so rotation can find old tokens
    token_key_version INTEGER,
    token_expires_at  TEXT,
    created_at        TEXT NOT NULL,
    CONSTRAINT instagram_connections_owner_ig_key UNIQUE (owner_id, ig_user_id)
);

-- Generated posts (P04) and their consent-gated lifecycle (P09).
CREATE TABLE posts (
    id                 TEXT PRIMARY KEY,
    owner_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic              TEXT,
    caption            TEXT NOT NULL,
    hashtags           TEXT NOT NULL DEFAULT '[]',    -- JSON array, without '#', in order
    alt_text           TEXT,
    media_kind         TEXT NOT NULL CHECK (media_kind IN ('image', 'carousel', 'reel', 'story')),
    -- JSON array of hex SHA-256 digests, one per media item in order (part of the content
    -- hash); the first one is the image's sha256
    media_digests      TEXT NOT NULL DEFAULT '[]',
    image_key          TEXT,                          -- media store key of the image
    image_width        INTEGER,
    image_height       INTEGER,
    target_ig_user_id  TEXT,
    status             TEXT NOT NULL CHECK (status IN ('ready', 'approved', 'publishing',
                           'published', 'failed', 'withdrawn', 'needs_reconnect')),
    consent_id         TEXT REFERENCES consent_receipts (id) ON DELETE SET NULL, -- current receipt
    sandbox            INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    published_at       TEXT,
    instagram_media_id TEXT,
    permalink          TEXT,
    failure_code       TEXT,
    failure_message    TEXT,
    failure_retryable  INTEGER
);
CREATE INDEX posts_owner_created_idx ON posts (owner_id, created_at DESC, id DESC);

-- Every Publish click, kept as immutable history (P09).
CREATE TABLE consent_receipts (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id           TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    content_hash      TEXT NOT NULL,                  -- 64 hex digits
    target_ig_user_id TEXT NOT NULL,
    approved_at       TEXT NOT NULL,
    ip                TEXT,
    user_agent        TEXT,
    scheduled_for     TEXT,
    CONSTRAINT consent_receipts_click_key UNIQUE (post_id, approved_at, content_hash)
);
CREATE INDEX consent_receipts_user_idx ON consent_receipts (user_id);
CREATE TRIGGER consent_receipts_no_update BEFORE UPDATE ON consent_receipts
BEGIN
    SELECT RAISE(ABORT, 'consent receipts are immutable');
END;

-- The publish queue: at most one job per post.
CREATE TABLE publish_jobs (
    id            TEXT PRIMARY KEY,
    post_id       TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    owner_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id TEXT REFERENCES instagram_connections (id) ON DELETE SET NULL,
    run_after     TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    locked_by     TEXT,
    lease_until   TEXT,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CONSTRAINT publish_jobs_post_key UNIQUE (post_id)
);
CREATE INDEX publish_jobs_due_idx ON publish_jobs (state, run_after);

-- Recovery points of the publish orchestration (core's PublishStep as JSON).
CREATE TABLE publish_journal (
    post_id    TEXT PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    step       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Generation quota holds (reserve → commit | release).
CREATE TABLE quota_reservations (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('posts', 'images')),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    period_start TEXT NOT NULL,
    committed    INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
);
CREATE INDEX quota_reservations_period_idx ON quota_reservations (user_id, kind, period_start);

-- Stripe customer and subscription state (P05: no card data anywhere).
CREATE TABLE billing_customers (
    user_id              TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    stripe_customer_id   TEXT NOT NULL,
    plan                 TEXT,
    subscription_id      TEXT,
    status               TEXT NOT NULL DEFAULT 'none',
    current_period_start TEXT,
    current_period_end   TEXT,
    past_due_since       TEXT,
    -- the `created` time of the Stripe event that set this state (older events are ignored)
    state_updated_at     TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    CONSTRAINT billing_customers_stripe_customer_key UNIQUE (stripe_customer_id)
);

-- Idempotency keys persisted before calling Stripe, so a retry reuses the same key.
CREATE TABLE billing_intents (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,                  -- customer | checkout | portal
    idempotency_key TEXT NOT NULL,
    request         TEXT,                           -- what was asked (JSON), for a retry
    result          TEXT,                           -- what Stripe answered (ids, URL)
    created_at      TEXT NOT NULL,
    completed_at    TEXT,
    CONSTRAINT billing_intents_key UNIQUE (idempotency_key)
);
CREATE INDEX billing_intents_user_idx ON billing_intents (user_id, kind);

-- The billing ledger (P17): kept 10 years, also after the account is purged.
CREATE TABLE payment_records (
    id                 TEXT PRIMARY KEY,
    invoice_id         TEXT NOT NULL,
    user_id            TEXT REFERENCES users (id) ON DELETE SET NULL,
    stripe_customer_id TEXT NOT NULL,
    amount             INTEGER NOT NULL,             -- minor units
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL,
    period_start       TEXT,
    period_end         TEXT,
    paid_at            TEXT,
    created_at         TEXT NOT NULL,
    CONSTRAINT payment_records_invoice_key UNIQUE (invoice_id)
);
CREATE INDEX payment_records_user_idx ON payment_records (user_id);
CREATE INDEX payment_records_created_idx ON payment_records (created_at);

-- Stripe events applied exactly once.
CREATE TABLE stripe_events (
    event_id    TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX stripe_events_received_idx ON stripe_events (received_at);

-- The usage log (P06), kept 30 days (P18). Never a body or a secret.
CREATE TABLE usage_log (
    id         INTEGER PRIMARY KEY,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    method     TEXT NOT NULL,
    route      TEXT NOT NULL,                       -- the route template, never the raw path
    status     INTEGER NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    security   INTEGER NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX usage_log_at_idx ON usage_log (at);
CREATE INDEX usage_log_user_idx ON usage_log (user_id, at);

-- Data-subject requests, due 30 days after receipt (P33).
CREATE TABLE data_subject_requests (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         TEXT NOT NULL CHECK (type IN ('access', 'rectification', 'erasure',
                     'restriction', 'portability', 'objection')),
    received_at  TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('received', 'completed')),
    completed_at TEXT
);
CREATE INDEX data_subject_requests_user_idx ON data_subject_requests (user_id, received_at);

-- Meta's data-deletion callback requests (P34); outlive the user so the status page works.
CREATE TABLE meta_deletion_requests (
    confirmation_code TEXT PRIMARY KEY,
    app_user_hash     TEXT NOT NULL,                -- SHA-256 of the app-scoped user id
    user_id           TEXT REFERENCES users (id) ON DELETE SET NULL,
    status            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    completed_at      TEXT
);

-- Privacy-policy versions and each user's acceptances (P38).
CREATE TABLE policy_versions (
    version      TEXT PRIMARY KEY,
    published_at TEXT NOT NULL,
    summary      TEXT NOT NULL
);
CREATE INDEX policy_versions_published_idx ON policy_versions (published_at);

CREATE TABLE policy_acceptances (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version     TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    ip          TEXT
);
CREATE INDEX policy_acceptances_user_idx ON policy_acceptances (user_id, accepted_at);

-- In-app notices (e.g. a new policy version).
CREATE TABLE notices (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at    TEXT
);
CREATE INDEX notices_user_idx ON notices (user_id, created_at);
