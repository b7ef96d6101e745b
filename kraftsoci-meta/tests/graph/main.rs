//! The Graph client against a wiremock Meta: one binary, one module per area. Each test reads
//! as a scenario; `.expect(0)` on `media_publish` proves nothing went out.

mod accounts;
mod callbacks;
mod errors;
mod helpers;
mod http_client;
mod media;
mod oauth;
mod orchestration;
mod publish;
mod publisher;
mod upload;
