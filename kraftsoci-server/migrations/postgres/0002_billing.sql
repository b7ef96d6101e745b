-- Billing (issue 8): the columns core's billing ports need beyond 0001.
-- Still nothing about a card or a payer (P05, P13): ids, statuses, amounts and times only.

-- The subscription's price (which plan it is) and whether it ends with the current period.
ALTER TABLE billing_customers ADD COLUMN price_id TEXT;
ALTER TABLE billing_customers ADD COLUMN cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE;

-- Payment records (P17): `amount` is the amount due; what was paid, the subscription billed,
-- and when the provider last reported the invoice (newer reports win; `paid` is final).
-- `created_at` is when the provider first reported it.
ALTER TABLE payment_records ADD COLUMN amount_paid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payment_records ADD COLUMN subscription_id TEXT;
ALTER TABLE payment_records ADD COLUMN reported_at TIMESTAMPTZ;

-- A pending checkout or portal intent is looked up by user, kind and age before a new one is
-- made, so that a retry reuses its Idempotency-Key.
CREATE INDEX billing_intents_pending_idx ON billing_intents (user_id, kind, created_at)
    WHERE completed_at IS NULL;
