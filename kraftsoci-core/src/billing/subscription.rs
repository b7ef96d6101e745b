//! A user's billing account: the provider customer and the latest subscription state (P05),
//! merged so that the final state never depends on the order views arrive in.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BillingCustomerId, PriceId, SubscriptionId};
use crate::UserId;

/// A subscription's status as the provider reports it. Any status this code does not know is
/// kept as [`SubscriptionStatus::Unknown`] (and grants nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum SubscriptionStatus {
    /// In a trial.
    Trialing,
    /// In good standing.
    Active,
    /// A renewal payment failed; retries are running.
    PastDue,
    /// The first payment failed or needs action.
    Incomplete,
    /// The first invoice stayed unpaid; terminal.
    IncompleteExpired,
    /// Retries are exhausted; invoices stay open.
    Unpaid,
    /// Ended; terminal.
    Canceled,
    /// The trial ended without a payment method.
    Paused,
    /// A status this code does not know.
    Unknown(String),
}

impl SubscriptionStatus {
    /// Every status the provider documents (not [`SubscriptionStatus::Unknown`]).
    pub const KNOWN: [SubscriptionStatus; 8] = [
        Self::Trialing,
        Self::Active,
        Self::PastDue,
        Self::Incomplete,
        Self::IncompleteExpired,
        Self::Unpaid,
        Self::Canceled,
        Self::Paused,
    ];

    /// Reads the provider's status string; never fails.
    pub fn parse(value: &str) -> Self {
        match value {
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" => Self::PastDue,
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "unpaid" => Self::Unpaid,
            "canceled" => Self::Canceled,
            "paused" => Self::Paused,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The provider's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Unpaid => "unpaid",
            Self::Canceled => "canceled",
            Self::Paused => "paused",
            Self::Unknown(other) => other,
        }
    }

    /// Whether the subscription can never change again (`canceled`, `incomplete_expired`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Canceled | Self::IncompleteExpired)
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for SubscriptionStatus {
    fn from(value: String) -> Self {
        Self::parse(&value)
    }
}

impl From<SubscriptionStatus> for String {
    fn from(value: SubscriptionStatus) -> Self {
        value.as_str().to_owned()
    }
}

/// A subscription as one webhook payload or API read showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// Its customer.
    pub customer: BillingCustomerId,
    /// Its status.
    pub status: SubscriptionStatus,
    /// The price of its (first) item: which plan it is.
    pub price_id: Option<PriceId>,
    /// Start of the current billing period.
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of the current billing period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at the end of the current period.
    pub cancel_at_period_end: bool,
    /// When the provider produced this view (the event's `created`, or the time of the read).
    /// Older views never overwrite newer ones.
    pub as_of: DateTime<Utc>,
}

/// The stored subscription state of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionState {
    /// The latest applied view.
    #[serde(flatten)]
    pub snapshot: SubscriptionSnapshot,
    /// Since when the subscription has been `past_due` (for the grace period); `None` otherwise.
    pub past_due_since: Option<DateTime<Utc>>,
}

/// What applying a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeOutcome {
    /// The stored state changed.
    Changed,
    /// The change was older than, equal to or irrelevant next to the stored state: nothing
    /// changed.
    Superseded,
}

/// A user's billing state: the provider customer and the latest subscription state (P05: no
/// other payment data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingAccount {
    /// Whose account.
    pub user: UserId,
    /// The provider's customer, once created.
    pub customer: Option<BillingCustomerId>,
    /// The subscription, once one was seen.
    pub subscription: Option<SubscriptionState>,
}

impl BillingAccount {
    /// An account with no customer and no subscription.
    pub fn new(user: UserId) -> Self {
        Self {
            user,
            customer: None,
            subscription: None,
        }
    }

    /// Records the provider customer. A user has exactly one customer: a different customer
    /// is refused ([`MergeOutcome::Superseded`]) and the first one kept.
    pub fn link_customer(&mut self, customer: &BillingCustomerId) -> MergeOutcome {
        match &self.customer {
            None => {
                self.customer = Some(customer.clone());
                MergeOutcome::Changed
            }
            Some(_) => MergeOutcome::Superseded,
        }
    }

    /// Applies a subscription view, whatever order views arrive in. Store implementations call
    /// this under the account's row lock, in the same transaction that records the event id.
    ///
    /// Rules, so that the final state does not depend on delivery order:
    /// - a view for another customer than the account's is ignored;
    /// - a terminal status (`canceled`, `incomplete_expired`) is final for its subscription:
    ///   no later or earlier view of that subscription revives it;
    /// - for the same subscription, a view older than the stored one is ignored (equal times
    ///   apply, so a terminal view wins a tie);
    /// - a different subscription replaces the stored one when it is live and either newer or
    ///   the stored one has ended; an ended other subscription never replaces a current one.
    pub fn merge(&mut self, view: &SubscriptionSnapshot) -> MergeOutcome {
        if let Some(customer) = &self.customer
            && *customer != view.customer
        {
            return MergeOutcome::Superseded;
        }
        let past_due_since = match &self.subscription {
            None => None,
            Some(current) if current.snapshot.subscription_id == view.subscription_id => {
                if current.snapshot.status.is_terminal() || view.as_of < current.snapshot.as_of {
                    return MergeOutcome::Superseded;
                }
                if current.snapshot.status == SubscriptionStatus::PastDue {
                    current.past_due_since.or(Some(current.snapshot.as_of))
                } else {
                    None
                }
            }
            Some(current) => {
                let replaces = !view.status.is_terminal()
                    && (view.as_of >= current.snapshot.as_of
                        || current.snapshot.status.is_terminal());
                if !replaces {
                    return MergeOutcome::Superseded;
                }
                None
            }
        };
        let past_due_since = if view.status == SubscriptionStatus::PastDue {
            past_due_since.or(Some(view.as_of))
        } else {
            None
        };
        let next = SubscriptionState {
            snapshot: view.clone(),
            past_due_since,
        };
        if self.subscription.as_ref() == Some(&next) {
            return MergeOutcome::Superseded;
        }
        if self.customer.is_none() {
            self.customer = Some(view.customer.clone());
        }
        self.subscription = Some(next);
        MergeOutcome::Changed
    }
}
