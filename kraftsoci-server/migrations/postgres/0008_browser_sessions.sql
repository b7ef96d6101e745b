-- Browser sessions (the web app's sign-in cookie) are refresh-token families of their own
-- kind: the same table, so logout, a password change or reset and closing the account end
-- them exactly as they end API sessions. A browser token is never rotated and is refused by
-- /v1/auth/refresh; an API refresh token never opens a page.
ALTER TABLE refresh_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api'
    CHECK (kind IN ('api', 'browser'));
