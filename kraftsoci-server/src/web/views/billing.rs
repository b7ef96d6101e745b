//! Billing: the plan, this period's usage, the plans on sale, and the way to Stripe.

use askama::Template;
use axum::http::StatusCode;

use super::{Alert, Tone};
use crate::i18n::Args;
use crate::web::{Page, PageContext};

/// A meter of this period's use.
#[derive(Debug, Clone)]
pub struct Meter {
    /// "Posts: 3 of 10".
    pub label: String,
    /// Used.
    pub used: u32,
    /// The limit (at least 1 for the `<meter>`).
    pub max: u32,
    /// Whether the limit is reached.
    pub full: bool,
}

impl Meter {
    /// The meter `key` for `used` of `limit`.
    pub fn new(ctx: &PageContext, key: &str, used: u32, limit: u32) -> Self {
        Self {
            label: ctx.t_with(
                key,
                &Args::new()
                    .text("used", ctx.integer(i64::from(used)))
                    .text("limit", ctx.integer(i64::from(limit))),
            ),
            used: used.min(limit.max(1)),
            max: limit.max(1),
            full: used >= limit,
        }
    }
}

/// A plan on sale.
#[derive(Debug, Clone)]
pub struct PlanOffer {
    /// Its name (the form's value).
    pub name: String,
    /// "10 posts and 4 images a month".
    pub quota: String,
    /// The button's text.
    pub choose: String,
    /// Whether it is the plan in force.
    pub current: bool,
}

/// What the billing page shows.
#[derive(Debug, Clone)]
pub struct BillingSummary {
    /// The plan in force, or "No plan".
    pub plan: String,
    /// The status in words.
    pub status: String,
    /// Its badge.
    pub tone: Tone,
    /// When the period ends, formatted.
    pub period_end: Option<String>,
    /// When a `past_due` grace period ends, formatted.
    pub grace_until: Option<String>,
    /// Posts and images.
    pub meters: Vec<Meter>,
    /// The plans on sale (empty without Stripe).
    pub offers: Vec<PlanOffer>,
    /// Whether Stripe is configured (the portal button).
    pub stripe: bool,
    /// Whether the account has subscribed before (the portal has something to manage).
    pub subscribed: bool,
    /// The note shown without Stripe.
    pub unbilled_note: Option<String>,
}

#[derive(Template)]
#[template(path = "billing/page.html")]
struct BillingPage<'a> {
    ctx: &'a PageContext,
    title: String,
    summary: &'a BillingSummary,
    alert: Option<Alert>,
}

/// The billing page (`status`), with a notice or refusal above. Its forms may go to
/// Stripe's hosted pages, so it carries the billing policy.
pub fn page(
    ctx: &PageContext,
    status: StatusCode,
    summary: &BillingSummary,
    alert: Option<Alert>,
) -> Page {
    let page = BillingPage {
        ctx,
        title: ctx.t("billing-title"),
        summary,
        alert,
    };
    Page::render(ctx, status, &page).for_billing_forms()
}
