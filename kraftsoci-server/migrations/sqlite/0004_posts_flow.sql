-- The sandbox publisher's stand-in for Instagram (KRAFTSOCI_SANDBOX=1): containers created,
-- polled and published locally, so the whole publish flow runs offline. Owned through the
-- sandbox connection's user, so an account purge removes them.
CREATE TABLE sandbox_containers (
    id           TEXT PRIMARY KEY,                   -- sandbox-container-<digits>
    ig_user_id   TEXT NOT NULL,                      -- sandbox-<digits>
    owner_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    caption      TEXT,
    alt_text     TEXT,
    item_count   INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('in_progress', 'finished', 'published')),
    media_id     TEXT,                               -- sandbox-<digits> once published
    permalink    TEXT,
    created_at   TEXT NOT NULL,
    published_at TEXT,
    CONSTRAINT sandbox_containers_media_key UNIQUE (media_id)
);
CREATE INDEX sandbox_containers_published_idx ON sandbox_containers (ig_user_id, published_at);
CREATE INDEX sandbox_containers_owner_idx ON sandbox_containers (owner_id);

-- The posts waiting for a reconnect or queued for an account are looked up by target.
CREATE INDEX posts_target_status_idx ON posts (target_ig_user_id, status);
