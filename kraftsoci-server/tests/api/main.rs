//! The API suite: a real server per test (port 0, its own SQLite file, outbox and clock),
//! driven over HTTP through `TestApp`'s one-method-per-endpoint helpers.

#[path = "../support/mod.rs"]
mod support;
#[path = "../support/user_data.rs"]
mod user_data;
#[path = "../support/web.rs"]
mod web_session;

mod account;
mod api_keys;
mod billing;
mod breach;
mod burst;
mod closure;
mod config_check;
mod connections;
mod generation;
mod health;
mod helpers;
mod hygiene;
mod instagram;
mod isolation;
mod key_rotation;
mod login;
mod login_storm;
mod media;
mod meta_callbacks;
mod notifications;
mod operations;
mod policy;
mod posts;
mod privacy_info;
mod profile;
mod provider_metrics;
mod publish_recovery;
mod rate_limit;
mod requests_admin;
mod reset;
mod retention;
mod review_requests;
mod revocation;
mod rights;
mod serving;
mod sessions;
mod signup;
mod tokens;
mod usage_log;
mod web;
mod web_api_keys;
mod web_auth;
mod web_billing;
mod web_busy;
mod web_notifications;
mod web_onboarding;
mod web_posts;
mod web_privacy_centre;
mod web_privacy_review;
mod web_reset;
mod web_settings;
mod web_times;
mod web_usage;
mod webhooks;
mod worker;
mod worker_batch;
mod worker_postgres;
