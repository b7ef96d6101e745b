-- Generation as a background job (issue 15 §1): posts are created in 'generating' and a
-- leased generation job writes their content; 'generation_failed' carries the reason in the
-- failure_* columns. generation_step is the last step the owner saw ('queued', 'writing',
-- 'moderating', 'drawing', 'ready', 'failed'); NULL for posts generated before this.
ALTER TABLE posts DROP CONSTRAINT posts_status_check;
ALTER TABLE posts ADD CONSTRAINT posts_status_check CHECK (status IN ('generating',
    'generation_failed', 'ready', 'approved', 'publishing', 'published', 'failed', 'withdrawn',
    'needs_reconnect'));
ALTER TABLE posts ADD COLUMN generation_step TEXT CHECK (generation_step IN ('queued',
    'writing', 'moderating', 'drawing', 'ready', 'failed'));

-- One job per post while it is generating. The claim token in locked_by fences every write of
-- the holder (like publish_jobs); reservations is the JSON list of the quota reservations the
-- request made, committed when the content is kept and released when generation fails.
-- caption/image say which parts to write; the other part of a regenerated post is kept.
CREATE TABLE generation_jobs (
    id           UUID PRIMARY KEY,
    post_id      UUID NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    owner_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic        TEXT NOT NULL,
    caption      BOOLEAN NOT NULL,
    image        BOOLEAN NOT NULL,
    reservations TEXT NOT NULL DEFAULT '[]',
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_after    TIMESTAMPTZ NOT NULL,
    locked_by    TEXT,
    lease_until  TIMESTAMPTZ,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT generation_jobs_post_key UNIQUE (post_id)
);
CREATE INDEX generation_jobs_due_idx ON generation_jobs (state, run_after);
CREATE INDEX generation_jobs_owner_idx ON generation_jobs (owner_id);

-- Idempotency-Key of POST /v1/posts: the same key from the same owner within 24 hours answers
-- the post it created; request_hash tells a repeated request from a different one. Swept
-- after 24 hours.
CREATE TABLE idempotency_keys (
    owner_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    post_id      UUID NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (owner_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
