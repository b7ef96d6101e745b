//! Integration tests of kraftsoci-billing: webhooks, entitlements, quotas, Stripe adapter.
#![recursion_limit = "256"]

mod helpers;

mod closure;
mod entitlements;
mod privacy;
mod signature;
mod stripe_api;
mod webhooks;
