//! One integration binary: a fake OpenAI per test (wiremock), one module per concern.

mod chat;
mod helpers;
mod http_client;
mod images;
mod moderation;
mod offline;
mod privacy;
mod retries;
