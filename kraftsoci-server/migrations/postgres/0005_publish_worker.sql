-- The publish worker's bookkeeping (src/worker, src/store/jobs.rs).
--
-- transient_deferrals counts the deferrals the worker bounds (temporary Meta failures); quota,
-- rate-limit, schedule and restriction waits are not counted. wait_reason says why a queued
-- job waits, so a reconnect or a lifted restriction can wake exactly those jobs.
ALTER TABLE publish_jobs ADD COLUMN transient_deferrals INTEGER NOT NULL DEFAULT 0;
ALTER TABLE publish_jobs ADD COLUMN wait_reason TEXT CHECK (wait_reason IN ('scheduled',
    'restricted', 'reconnect', 'quota', 'rate_limited', 'not_ready', 'transient',
    'outcome_unknown', 'conflict'));

-- Waking an owner's waiting jobs.
CREATE INDEX publish_jobs_owner_idx ON publish_jobs (owner_id);
