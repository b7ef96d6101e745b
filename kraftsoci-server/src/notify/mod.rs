//! Notifications to the owner (issue 15 §2) and outbound webhooks (§3).
//!
//! One event model ([`Event`], [`EventKind`]): published (with the permalink), publish
//! failed (the reason and what to do), needs reconnect (Graph 190, a removed token, Meta's
//! deauthorisation), scheduled within the hour, quota at 80 % and 100 %, generation failed,
//! plus the mandatory policy and security notices. Each event has a stable key, and
//! [`Notifier::record`] stores it once per owner and key — the in-app notice, the pending
//! mail (the outbox) and one webhook delivery per subscribed endpoint, in one transaction —
//! so a retried job never notifies twice. The owner chooses mail and/or notice per event
//! ([`NotificationPreferences`], `PUT /v1/me/preferences`); security and legal notices cannot
//! be turned off.
//!
//! The [`Dispatcher`] then delivers: mails from templates (plain text and HTML, in the
//! owner's language and time zone), signed webhook POSTs with retries for 24 hours
//! ([`webhooks`]), and the "scheduled within the hour" scan.
//!
//! ## Raising an event
//! ```no_run
//! # async fn demo(state: &kraftsoci_server::AppState, user: kraftsoci_core::UserId,
//! #     post: kraftsoci_core::PostId) -> Result<(), kraftsoci_core::StoreError> {
//! use kraftsoci_server::notify::{Event, Notifier};
//! let notifier = Notifier::new(&state.stores, state.clock.clone());
//! notifier
//!     .record(&Event::generation_failed(user, post, "attempt-1", "the generator timed out"))
//!     .await?;
//! # Ok(()) }
//! ```

mod dispatch;
mod endpoints;
mod event;
mod message;
mod notifier;
mod preferences;
mod quota;
pub mod webhooks;

pub use dispatch::{DISPATCH_INTERVAL, DispatchDeps, Dispatcher};
#[cfg(any(test, feature = "testing"))]
pub use dispatch::{
    DELIVERY_RETENTION_DAYS, DispatchReport, DispatcherHandle, NOTICE_RETENTION_DAYS,
};
pub use endpoints::{WebhookError, Webhooks};
#[cfg(any(test, feature = "testing"))]
pub use endpoints::{MAX_DELIVERIES_LISTED, Registered, check_events};
pub use event::{Event, EventKind};
#[cfg(any(test, feature = "testing"))]
pub use message::{RenderedMail, absolute_link};
pub(crate) use notifier::locale_of;
pub use notifier::{Notifier, Recorded};
pub use preferences::{
    Channels, NotificationPreferences, PreferencesError, default_time_zone, parse_time_zone,
};
pub use quota::NotifyingEntitlements;
