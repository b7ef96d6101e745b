-- Privacy promises kept in full (issue 14): closure stops billing, failed purges are visible,
-- network data is reduced after 30 days, erasures leave a minimal proof, and a Stripe event
-- that cannot be read is marked as such (P18, P19, P28, P34).

-- A closed account's billing stop (P19): written in the closure's transaction, so a closure is
-- never without it, and retried until Stripe confirms (`stopped_at`). `request_id` is the
-- erasure request, which derives every cancel's Idempotency-Key: each retry sends the same
-- keys. Deleted with the account at the purge.
CREATE TABLE billing_stops (
    user_id         TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    request_id      TEXT NOT NULL,
    requested_at    TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_error      TEXT,                            -- Stripe's status and request id, never a key
    stopped_at      TEXT
);
CREATE INDEX billing_stops_pending_idx ON billing_stops (requested_at) WHERE stopped_at IS NULL;

-- Closed accounts whose purge failed (P19): the operator's list (`kraftsoci-server sweep`),
-- kept until the purge succeeds, which deletes the row with the account.
CREATE TABLE purge_failures (
    user_id          TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    first_failed_at  TEXT NOT NULL,
    last_failed_at   TEXT NOT NULL,
    failures         INTEGER NOT NULL,
    error            TEXT NOT NULL                   -- the cause, naming ids only
);

-- The minimal proof an erasure leaves (P28): the domain-separated SHA-256 of the normalised
-- address and two dates, no link to any other row; deleted three years after the erasure.
CREATE TABLE erasure_proofs (
    id           TEXT PRIMARY KEY,
    email_hash   TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    completed_at TEXT NOT NULL
);
CREATE INDEX erasure_proofs_completed_idx ON erasure_proofs (completed_at);
CREATE INDEX erasure_proofs_email_idx ON erasure_proofs (email_hash);

-- A correctly signed Stripe event we could not read is kept by id and type only, marked.
ALTER TABLE stripe_events ADD COLUMN unprocessable INTEGER NOT NULL DEFAULT 0;

-- Completed Meta data-deletion requests are deleted 90 days after completion (P34).
CREATE INDEX meta_deletion_requests_completed_idx ON meta_deletion_requests (completed_at)
    WHERE completed_at IS NOT NULL;

-- The IP address and user agent of consent receipts and policy acceptances are removed after
-- 30 days (P18). Receipts stay immutable otherwise: the one update the trigger lets through
-- clears both network fields and changes nothing else.
DROP TRIGGER consent_receipts_no_update;
CREATE TRIGGER consent_receipts_no_update BEFORE UPDATE ON consent_receipts
WHEN NOT (NEW.id IS OLD.id AND NEW.user_id IS OLD.user_id AND NEW.post_id IS OLD.post_id
          AND NEW.content_hash IS OLD.content_hash
          AND NEW.target_ig_user_id IS OLD.target_ig_user_id
          AND NEW.approved_at IS OLD.approved_at AND NEW.scheduled_for IS OLD.scheduled_for
          AND NEW.ip IS NULL AND NEW.user_agent IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'consent receipts are immutable');
END;
CREATE INDEX consent_receipts_network_idx ON consent_receipts (approved_at)
    WHERE ip IS NOT NULL OR user_agent IS NOT NULL;
CREATE INDEX policy_acceptances_network_idx ON policy_acceptances (accepted_at)
    WHERE ip IS NOT NULL;
