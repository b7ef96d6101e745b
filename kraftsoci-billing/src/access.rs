//! Whether a subscription grants access: the status table, the `past_due` grace period, and
//! periods that ended without the provider telling us.

use chrono::{DateTime, Duration, Utc};
use kraftsoci_core::ports::{SubscriptionState, SubscriptionStatus};
use serde::{Deserialize, Serialize};

/// The access policy.
///
/// | status | access |
/// |---|---|
/// | `trialing`, `active` | yes, until the current period ended (plus `period_end_leeway`; no leeway when it is set to cancel at period end) |
/// | `past_due` | for `past_due_grace` after it became past due |
/// | `incomplete`, `incomplete_expired`, `unpaid`, `canceled`, `paused`, anything unknown | no |
///
/// Both durations are zero or more: a negative one is taken as zero.
///
/// ```
/// use chrono::Duration;
/// use kraftsoci_billing::AccessPolicy;
///
/// let lenient = AccessPolicy::default().with_past_due_grace(Duration::days(7));
/// assert_eq!(lenient.past_due_grace(), Duration::days(7));
/// assert_eq!(lenient.period_end_leeway(), Duration::days(3));
/// assert_eq!(
///     AccessPolicy::default().with_period_end_leeway(Duration::days(-1)).period_end_leeway(),
///     Duration::zero()
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AccessPolicy {
    past_due_grace: Duration,
    period_end_leeway: Duration,
}

impl AccessPolicy {
    /// How long a `past_due` subscription keeps access (default 3 days).
    pub fn with_past_due_grace(mut self, grace: Duration) -> Self {
        self.past_due_grace = grace.max(Duration::zero());
        self
    }

    /// How long a `trialing`/`active` subscription keeps access after its period ended with no
    /// newer state from the provider (default 3 days: the provider retries webhooks that long).
    pub fn with_period_end_leeway(mut self, leeway: Duration) -> Self {
        self.period_end_leeway = leeway.max(Duration::zero());
        self
    }

    /// How long a `past_due` subscription keeps access.
    pub fn past_due_grace(&self) -> Duration {
        self.past_due_grace
    }

    /// How long an ended period keeps access while no renewal was seen.
    pub fn period_end_leeway(&self) -> Duration {
        self.period_end_leeway
    }
}

/// The same policy from its serialised form, through the setters (so negative durations
/// become zero).
impl<'de> Deserialize<'de> for AccessPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            past_due_grace: Duration,
            period_end_leeway: Duration,
        }
        let fields = Fields::deserialize(deserializer)?;
        Ok(Self::default()
            .with_past_due_grace(fields.past_due_grace)
            .with_period_end_leeway(fields.period_end_leeway))
    }
}

impl Default for AccessPolicy {
    fn default() -> Self {
        Self {
            past_due_grace: Duration::days(3),
            period_end_leeway: Duration::days(3),
        }
    }
}

/// The decision. More states may come (match with a wildcard arm, and deny in it); whether
/// the paid plan applies is [`Access::grants`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Access {
    /// In good standing.
    Granted,
    /// Past due, inside the grace period.
    Grace {
        /// When the grace period ends.
        until: DateTime<Utc>,
    },
    /// No access.
    Denied {
        /// Why.
        reason: DenyReason,
    },
}

impl Access {
    /// Whether the user may use the paid plan now.
    pub fn grants(&self) -> bool {
        !matches!(self, Self::Denied { .. })
    }
}

/// Why access is denied. More reasons may come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DenyReason {
    /// There is no subscription.
    NoSubscription,
    /// The status grants nothing.
    Status {
        /// The status.
        status: SubscriptionStatus,
    },
    /// Past due for longer than the grace period.
    GraceExpired {
        /// When the grace period ended.
        ended: DateTime<Utc>,
    },
    /// The current period ended and no renewal was seen.
    PeriodEnded {
        /// When the period ended.
        ended: DateTime<Utc>,
    },
}

impl AccessPolicy {
    /// Decides access at `now` from the stored subscription state (`None`: never subscribed).
    pub fn decide(&self, state: Option<&SubscriptionState>, now: DateTime<Utc>) -> Access {
        let Some(state) = state else {
            return Access::Denied {
                reason: DenyReason::NoSubscription,
            };
        };
        let snapshot = &state.snapshot;
        match &snapshot.status {
            SubscriptionStatus::Trialing | SubscriptionStatus::Active => {
                let Some(end) = snapshot.current_period_end else {
                    return Access::Granted;
                };
                let cutoff = if snapshot.cancel_at_period_end {
                    end
                } else {
                    end.checked_add_signed(self.period_end_leeway)
                        .unwrap_or(DateTime::<Utc>::MAX_UTC)
                };
                if now < cutoff {
                    Access::Granted
                } else {
                    Access::Denied {
                        reason: DenyReason::PeriodEnded { ended: end },
                    }
                }
            }
            SubscriptionStatus::PastDue => {
                let since = state.past_due_since.unwrap_or(snapshot.as_of);
                let until = since
                    .checked_add_signed(self.past_due_grace)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                if now < until {
                    Access::Grace { until }
                } else {
                    Access::Denied {
                        reason: DenyReason::GraceExpired { ended: until },
                    }
                }
            }
            SubscriptionStatus::Incomplete
            | SubscriptionStatus::IncompleteExpired
            | SubscriptionStatus::Unpaid
            | SubscriptionStatus::Canceled
            | SubscriptionStatus::Paused
            | SubscriptionStatus::Unknown(_) => Access::Denied {
                reason: DenyReason::Status {
                    status: snapshot.status.clone(),
                },
            },
            // A status a later core names: grants nothing until this crate knows it.
            _ => Access::Denied {
                reason: DenyReason::Status {
                    status: snapshot.status.clone(),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use kraftsoci_core::ports::{BillingCustomerId, SubscriptionId, SubscriptionSnapshot};

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).single().unwrap()
    }

    fn state(status: &str) -> SubscriptionState {
        SubscriptionState {
            snapshot: SubscriptionSnapshot {
                subscription_id: SubscriptionId::parse("sub_1").unwrap(),
                customer: BillingCustomerId::parse("cus_1").unwrap(),
                status: SubscriptionStatus::parse(status),
                price_id: None,
                current_period_start: Some(t0()),
                current_period_end: Some(t0() + Duration::days(30)),
                cancel_at_period_end: false,
                as_of: t0(),
            },
            past_due_since: (status == "past_due").then(t0),
        }
    }

    #[test]
    fn every_status_maps_to_the_documented_access() {
        let policy = AccessPolicy::default();
        let now = t0() + Duration::days(1);
        let table = [
            ("trialing", true),
            ("active", true),
            ("past_due", true),
            ("incomplete", false),
            ("incomplete_expired", false),
            ("unpaid", false),
            ("canceled", false),
            ("paused", false),
            ("some_future_status", false),
        ];
        for (status, grants) in table {
            let access = policy.decide(Some(&state(status)), now);
            assert_eq!(access.grants(), grants, "{status}: {access:?}");
        }
        assert_eq!(
            policy.decide(None, now),
            Access::Denied {
                reason: DenyReason::NoSubscription
            }
        );
    }

    #[test]
    fn a_negative_grace_or_leeway_counts_as_none() {
        let policy = AccessPolicy::default()
            .with_past_due_grace(Duration::days(-2))
            .with_period_end_leeway(Duration::seconds(-1));
        assert_eq!(policy.past_due_grace(), Duration::zero());
        assert_eq!(policy.period_end_leeway(), Duration::zero());
        let past_due = state("past_due");
        assert!(!policy.decide(Some(&past_due), t0()).grants());
    }

    #[test]
    fn a_policy_read_from_its_serialised_form_goes_through_the_same_checks() {
        let policy = AccessPolicy::default().with_past_due_grace(Duration::days(7));
        let json = serde_json::to_value(policy).unwrap();
        assert_eq!(
            serde_json::from_value::<AccessPolicy>(json.clone()).unwrap(),
            policy
        );
        let mut negative = json;
        negative["past_due_grace"] = serde_json::to_value(Duration::days(-1)).unwrap();
        let read: AccessPolicy = serde_json::from_value(negative).unwrap();
        assert_eq!(read.past_due_grace(), Duration::zero());
        assert_eq!(read.period_end_leeway(), Duration::days(3));
    }

    #[test]
    fn past_due_grants_only_inside_the_grace_period() {
        let policy = AccessPolicy::default();
        let past_due = state("past_due");
        let inside = policy.decide(
            Some(&past_due),
            t0() + Duration::days(3) - Duration::seconds(1),
        );
        assert_eq!(
            inside,
            Access::Grace {
                until: t0() + Duration::days(3)
            }
        );
        let outside = policy.decide(Some(&past_due), t0() + Duration::days(3));
        assert!(matches!(
            outside,
            Access::Denied {
                reason: DenyReason::GraceExpired { .. }
            }
        ));
        let longer = AccessPolicy {
            past_due_grace: Duration::days(7),
            ..AccessPolicy::default()
        };
        assert!(
            longer
                .decide(Some(&past_due), t0() + Duration::days(5))
                .grants()
        );
    }

    #[test]
    fn an_active_subscription_whose_period_ended_long_ago_is_denied() {
        let policy = AccessPolicy::default();
        let active = state("active");
        let end = t0() + Duration::days(30);
        assert!(
            policy
                .decide(Some(&active), end + Duration::days(2))
                .grants()
        );
        assert_eq!(
            policy.decide(Some(&active), end + Duration::days(3)),
            Access::Denied {
                reason: DenyReason::PeriodEnded { ended: end }
            }
        );
        let mut ending = active.clone();
        ending.snapshot.cancel_at_period_end = true;
        assert!(
            policy
                .decide(Some(&ending), end - Duration::seconds(1))
                .grants()
        );
        assert!(!policy.decide(Some(&ending), end).grants());
    }
}
