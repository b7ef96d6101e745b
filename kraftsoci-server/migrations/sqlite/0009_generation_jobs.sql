-- no-transaction
-- Generation as a background job (issue 15 §1); see the PostgreSQL migration for the why.
--
-- SQLite cannot change a CHECK constraint in place, so `posts` is rebuilt the documented way
-- (https://sqlite.org/lang_altertable.html#otheralter): foreign keys off (outside a
-- transaction, hence `no-transaction` above), copy into a new table, drop, rename, recreate
-- the indexes, check the foreign keys, commit, foreign keys on. With foreign keys off, the
-- drop does not cascade into consent_receipts, publish_jobs or publish_journal.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE posts_new (
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
    status             TEXT NOT NULL CHECK (status IN ('generating', 'generation_failed',
                           'ready', 'approved', 'publishing', 'published', 'failed',
                           'withdrawn', 'needs_reconnect')),
    consent_id         TEXT REFERENCES consent_receipts (id) ON DELETE SET NULL, -- current receipt
    sandbox            INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    published_at       TEXT,
    instagram_media_id TEXT,
    permalink          TEXT,
    failure_code       TEXT,
    failure_message    TEXT,
    failure_retryable  INTEGER,
    generation_step    TEXT CHECK (generation_step IN ('queued', 'writing', 'moderating',
                           'drawing', 'ready', 'failed'))
);
INSERT INTO posts_new (id, owner_id, topic, caption, hashtags, alt_text, media_kind,
    media_digests, image_key, image_width, image_height, target_ig_user_id, status, consent_id,
    sandbox, created_at, updated_at, published_at, instagram_media_id, permalink, failure_code,
    failure_message, failure_retryable)
SELECT id, owner_id, topic, caption, hashtags, alt_text, media_kind, media_digests, image_key,
    image_width, image_height, target_ig_user_id, status, consent_id, sandbox, created_at,
    updated_at, published_at, instagram_media_id, permalink, failure_code, failure_message,
    failure_retryable
FROM posts;
DROP TABLE posts;
ALTER TABLE posts_new RENAME TO posts;
CREATE INDEX posts_owner_created_idx ON posts (owner_id, created_at DESC, id DESC);
CREATE INDEX posts_target_status_idx ON posts (target_ig_user_id, status);

CREATE TABLE generation_jobs (
    id           TEXT PRIMARY KEY,
    post_id      TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic        TEXT NOT NULL,
    caption      INTEGER NOT NULL,
    image        INTEGER NOT NULL,
    reservations TEXT NOT NULL DEFAULT '[]',
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_after    TEXT NOT NULL,
    locked_by    TEXT,
    lease_until  TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT generation_jobs_post_key UNIQUE (post_id)
);
CREATE INDEX generation_jobs_due_idx ON generation_jobs (state, run_after);
CREATE INDEX generation_jobs_owner_idx ON generation_jobs (owner_id);

CREATE TABLE idempotency_keys (
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    post_id      TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (owner_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
