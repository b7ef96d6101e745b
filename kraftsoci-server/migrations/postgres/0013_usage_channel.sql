-- Which door each usage-log request came through (P06): `api` (the JSON API and provider
-- callbacks) or `web` (the owner's web app, signed in or not). Rows written before this
-- migration have none: which door they came through was not recorded.
ALTER TABLE usage_log ADD COLUMN channel TEXT CHECK (channel IN ('api', 'web'));
