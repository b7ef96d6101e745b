-- Human review of automated decisions (P32) and the incident register (KVKK art. 12(5),
-- GDPR art. 33(5)).

-- A review request is a data-subject request of type 'review', due in 30 days like the
-- others; it may name the post the decision was about (kept when the post is deleted, the
-- link cleared) and carries the owner's message. No other type has either. SQLite cannot
-- change a CHECK constraint, so the table is rebuilt (nothing references it).
CREATE TABLE data_subject_requests_new (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         TEXT NOT NULL CHECK (type IN ('access', 'rectification', 'erasure',
                     'restriction', 'portability', 'objection', 'review')),
    received_at  TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('received', 'completed')),
    completed_at TEXT,
    post_id      TEXT REFERENCES posts (id) ON DELETE SET NULL,
    message      TEXT,
    CHECK (type = 'review' OR (post_id IS NULL AND message IS NULL))
);
INSERT INTO data_subject_requests_new
    (id, user_id, type, received_at, due_at, status, completed_at)
    SELECT id, user_id, type, received_at, due_at, status, completed_at
    FROM data_subject_requests;
DROP TABLE data_subject_requests;
ALTER TABLE data_subject_requests_new RENAME TO data_subject_requests;
CREATE INDEX data_subject_requests_user_idx ON data_subject_requests (user_id, received_at);
CREATE INDEX data_subject_requests_post_idx ON data_subject_requests (post_id)
    WHERE post_id IS NOT NULL;

-- Every run of `kraftsoci-server breach`, dry or not: the incident's label and description,
-- when it was detected, how many open accounts it affected, and when they were told. It names
-- no person (the notices and mails do), so it is kept as the controller's record of breaches.
CREATE TABLE security_incidents (
    id              TEXT PRIMARY KEY,
    incident        TEXT NOT NULL,
    summary         TEXT NOT NULL,
    detected_at     TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    dry_run         INTEGER NOT NULL,
    affected        INTEGER NOT NULL,
    notices_created INTEGER NOT NULL,
    mails_sent      INTEGER NOT NULL,
    mails_failed    INTEGER NOT NULL,
    notified_at     TEXT
);
CREATE INDEX security_incidents_recorded_idx ON security_incidents (recorded_at);
