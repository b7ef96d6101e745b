//! The web app in a real browser: headless Chromium driven over WebDriver (fantoccini)
//! against a test server (`spawn_app`, port 0, its own SQLite database).
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the suite fails (see
//! `harness.rs` for the one developer-only escape hatch). `KRAFTSOCI_SCREENSHOTS=1 cargo test
//! -p kraftsoci-server --test browser` refreshes `docs/screenshots/`.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../support/mod.rs"]
mod support;
#[path = "../support/web.rs"]
mod web_session;

mod auth;
mod data_deletion;
mod harness;
mod meta_status;
mod onboarding;
mod posts;
mod privacy;
mod privacy_centre;
mod settings;
