-- Notifications to the owner (issue 15 §2) and outbound webhooks (§3).
--
-- Every event (published, publish_failed, needs_reconnect, scheduled_soon, quota_80,
-- quota_100, generation_failed, policy_changed, security) is one row of `notices`, keyed by
-- (user_id, subject_key): the event's stable id. A retried job records the same key again and
-- changes nothing, so an owner gets one notice and one mail per event. `notices` doubles as the
-- mail outbox: `mail_next_at` is set while a mail is still to be sent.
ALTER TABLE notices ADD COLUMN link TEXT;
-- The event's details (JSON object of strings) the mail and the notice are written from.
ALTER TABLE notices ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
-- Whether the notice shows in the app (the owner may want mail only).
ALTER TABLE notices ADD COLUMN in_app BOOLEAN NOT NULL DEFAULT TRUE;
-- When the mail is next due (NULL: none wanted, sent, or given up); a claimed mail's lease.
ALTER TABLE notices ADD COLUMN mail_next_at TIMESTAMPTZ;
ALTER TABLE notices ADD COLUMN mail_attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX notices_mail_due_idx ON notices (mail_next_at) WHERE mail_next_at IS NOT NULL;

-- Each owner's notification choices and time zone (P36: functional storage only).
CREATE TABLE notification_preferences (
    user_id    UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- an IANA zone name, e.g. Europe/Istanbul
    time_zone  TEXT NOT NULL,
    -- JSON: {"published": {"mail": true, "in_app": true}, ...}; missing events use defaults
    channels   TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The owner's webhook endpoints. The signing secret is sealed with the token vault (never in
-- clear); `events` is the comma-wrapped list of event names (",published,quota_80,").
CREATE TABLE webhook_endpoints (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    events        TEXT NOT NULL,
    sealed_secret BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_endpoints_user_idx ON webhook_endpoints (user_id, created_at);

-- One delivery per endpoint and event: a leased job, retried with back-off for 24 hours.
CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    endpoint_id     UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_key       TEXT NOT NULL,
    event           TEXT NOT NULL,
    -- the JSON body sent, fixed at creation so every attempt (and a re-send) signs the same
    payload         TEXT NOT NULL,
    -- pending, succeeded, failed (gave up after 24 h)
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- when the next attempt is due (a running attempt's lease); NULL once settled
    next_attempt_at TIMESTAMPTZ,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    -- the 24-hour retry window is counted from here (a re-send starts a new window)
    window_start    TIMESTAMPTZ NOT NULL,
    completed_at    TIMESTAMPTZ,
    UNIQUE (endpoint_id, event_key)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);
