-- Human review of automated decisions (P32) and the incident register (KVKK art. 12(5),
-- GDPR art. 33(5)).

-- A review request is a data-subject request of type 'review', due in 30 days like the
-- others; it may name the post the decision was about (kept when the post is deleted, the
-- link cleared) and carries the owner's message. No other type has either.
ALTER TABLE data_subject_requests DROP CONSTRAINT data_subject_requests_type_check;
ALTER TABLE data_subject_requests ADD CONSTRAINT data_subject_requests_type_check
    CHECK (type IN ('access', 'rectification', 'erasure', 'restriction', 'portability',
                    'objection', 'review'));
ALTER TABLE data_subject_requests ADD COLUMN post_id UUID REFERENCES posts (id) ON DELETE SET NULL;
ALTER TABLE data_subject_requests ADD COLUMN message TEXT;
ALTER TABLE data_subject_requests ADD CONSTRAINT data_subject_requests_review_check
    CHECK (type = 'review' OR (post_id IS NULL AND message IS NULL));
CREATE INDEX data_subject_requests_post_idx ON data_subject_requests (post_id)
    WHERE post_id IS NOT NULL;

-- Every run of `kraftsoci-server breach`, dry or not: the incident's label and description,
-- when it was detected, how many open accounts it affected, and when they were told. It names
-- no person (the notices and mails do), so it is kept as the controller's record of breaches.
CREATE TABLE security_incidents (
    id              UUID PRIMARY KEY,
    incident        TEXT NOT NULL,
    summary         TEXT NOT NULL,
    detected_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    dry_run         BOOLEAN NOT NULL,
    affected        BIGINT NOT NULL,
    notices_created BIGINT NOT NULL,
    mails_sent      BIGINT NOT NULL,
    mails_failed    BIGINT NOT NULL,
    notified_at     TIMESTAMPTZ
);
CREATE INDEX security_incidents_recorded_idx ON security_incidents (recorded_at);
