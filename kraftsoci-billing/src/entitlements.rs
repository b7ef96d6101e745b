//! [`Entitlements`] from the stored subscription, the plan table and the quota ledger.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Months, TimeZone, Utc};
use kraftsoci_core::ports::{
    BillingStore, EntitlementError, Entitlements, QuotaKind, QuotaLedger, QuotaReservation,
    SubscriptionStatus,
};
use kraftsoci_core::{Clock, StoreError, UserId};
use serde::Serialize;
use uuid::Uuid;

use crate::access::{Access, AccessPolicy};
use crate::plans::{Plan, PlanTable};

/// The period quotas count in; it always starts before it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BillingPeriod {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl BillingPeriod {
    /// Its first instant: quotas count from here.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Its end (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// The calendar month (UTC) holding `now`: the period of the free plan.
    pub fn calendar_month(now: DateTime<Utc>) -> Self {
        let start = Utc
            .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
            .single()
            .unwrap_or(now);
        let end = start
            .checked_add_months(Months::new(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Self { start, end }
    }

    /// The subscription period holding `now`. When `now` is past the stored period (the
    /// renewal event has not arrived yet) the period is rolled forward by whole months from
    /// its start, so quotas reset on time either way. A period that ends before it starts
    /// (a provider answer that makes no sense) counts as the calendar month.
    pub fn from_subscription(start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if end <= start {
            return Self::calendar_month(now);
        }
        if now < end {
            return Self { start, end };
        }
        for k in 1..=120u32 {
            let (Some(s), Some(e)) = (
                start.checked_add_months(Months::new(k)),
                start.checked_add_months(Months::new(k + 1)),
            ) else {
                break;
            };
            if now < e {
                return Self { start: s, end: e };
            }
        }
        Self::calendar_month(now)
    }
}

/// What a user is entitled to now. More fields may come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Entitlement {
    /// The subscription status; `None` when the user never subscribed.
    pub status: Option<SubscriptionStatus>,
    /// What the subscription grants.
    pub access: Access,
    /// The plan in force: the subscribed plan while the subscription grants access, otherwise
    /// the free plan; `None` when neither applies (nothing may be generated).
    pub plan: Option<Plan>,
    /// The period quotas count in.
    pub period: BillingPeriod,
    /// The end of the subscription's current period, when known.
    pub current_period_end: Option<DateTime<Utc>>,
}

/// Use and limits of the current period. More fields may come (a quota kind per field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Usage {
    /// Posts generated or being generated.
    pub posts_used: u32,
    /// The plan's post limit.
    pub posts_limit: u32,
    /// Images generated or being generated.
    pub images_used: u32,
    /// The plan's image limit.
    pub images_limit: u32,
}

/// What `GET /v1/billing` shows. More fields may come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BillingOverview {
    /// The plan in force, if any.
    pub plan: Option<String>,
    /// The subscription status, `none` when never subscribed.
    pub status: String,
    /// What the subscription grants.
    pub access: Access,
    /// The end of the subscription's current period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// This period's use and limits.
    pub usage: Usage,
}

/// The [`Entitlements`] implementation: access from the stored subscription (through
/// [`AccessPolicy`]), limits from the [`PlanTable`], counts in the [`QuotaLedger`].
pub struct BillingEntitlements {
    store: Arc<dyn BillingStore>,
    plans: Arc<PlanTable>,
    ledger: Arc<dyn QuotaLedger>,
    clock: Arc<dyn Clock>,
    policy: AccessPolicy,
}

impl std::fmt::Debug for BillingEntitlements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingEntitlements")
            .field("plans", &self.plans)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn unavailable(err: StoreError) -> EntitlementError {
    EntitlementError::Unavailable(err.to_string())
}

impl BillingEntitlements {
    /// Entitlements with the default [`AccessPolicy`].
    pub fn new(
        store: Arc<dyn BillingStore>,
        plans: Arc<PlanTable>,
        ledger: Arc<dyn QuotaLedger>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            plans,
            ledger,
            clock,
            policy: AccessPolicy::default(),
        }
    }

    /// Replaces the access policy (e.g. a longer `past_due` grace).
    pub fn with_policy(mut self, policy: AccessPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// What `user` is entitled to now.
    ///
    /// # Errors
    /// [`EntitlementError::Unavailable`] when the billing state cannot be read.
    pub async fn entitlement(&self, user: UserId) -> Result<Entitlement, EntitlementError> {
        let now = self.clock.now();
        let account = self.store.account(user).await.map_err(unavailable)?;
        let state = account.as_ref().and_then(|a| a.subscription.as_ref());
        let access = self.policy.decide(state, now);
        let subscribed_plan = match state {
            Some(state) if access.grants() => {
                let plan = state
                    .snapshot
                    .price_id
                    .as_ref()
                    .and_then(|price| self.plans.by_price(price));
                if plan.is_none() {
                    tracing::error!(
                        price = ?state.snapshot.price_id,
                        "a granting subscription has a price that no configured plan sells"
                    );
                }
                plan.map(|plan| {
                    let period = match (
                        state.snapshot.current_period_start,
                        state.snapshot.current_period_end,
                    ) {
                        (Some(start), Some(end)) => {
                            BillingPeriod::from_subscription(start, end, now)
                        }
                        _ => BillingPeriod::calendar_month(now),
                    };
                    (plan.clone(), period)
                })
            }
            _ => None,
        };
        let (plan, period) = match subscribed_plan {
            Some((plan, period)) => (Some(plan), period),
            None => (
                self.plans.free().cloned(),
                BillingPeriod::calendar_month(now),
            ),
        };
        Ok(Entitlement {
            status: state.map(|s| s.snapshot.status.clone()),
            access,
            plan,
            period,
            current_period_end: state.and_then(|s| s.snapshot.current_period_end),
        })
    }

    /// The billing summary for `user`.
    ///
    /// # Errors
    /// [`EntitlementError::Unavailable`] when the billing state or the ledger cannot be read.
    pub async fn overview(&self, user: UserId) -> Result<BillingOverview, EntitlementError> {
        let entitlement = self.entitlement(user).await?;
        let start = entitlement.period.start;
        let used = |kind| async move {
            self.ledger
                .used(user, kind, start)
                .await
                .map_err(unavailable)
        };
        let limit = |kind| entitlement.plan.as_ref().map_or(0, |p| p.limit(kind));
        Ok(BillingOverview {
            plan: entitlement.plan.as_ref().map(|p| p.name.to_string()),
            status: entitlement
                .status
                .as_ref()
                .map_or_else(|| "none".to_owned(), |s| s.as_str().to_owned()),
            access: entitlement.access.clone(),
            current_period_end: entitlement.current_period_end,
            usage: Usage {
                posts_used: used(QuotaKind::Posts).await?,
                posts_limit: limit(QuotaKind::Posts),
                images_used: used(QuotaKind::Images).await?,
                images_limit: limit(QuotaKind::Images),
            },
        })
    }
}

#[async_trait]
impl Entitlements for BillingEntitlements {
    #[tracing::instrument(skip(self), fields(user = %user))]
    async fn reserve(
        &self,
        user: UserId,
        kind: QuotaKind,
        amount: u32,
    ) -> Result<QuotaReservation, EntitlementError> {
        let entitlement = self.entitlement(user).await?;
        let Some(plan) = entitlement.plan else {
            let status = match (&entitlement.status, entitlement.access.grants()) {
                (Some(_), true) => "unknown_plan".to_owned(),
                (Some(status), false) => status.as_str().to_owned(),
                (None, _) => "none".to_owned(),
            };
            return Err(EntitlementError::NoAccess { status });
        };
        let limit = plan.limit(kind);
        let reservation = QuotaReservation {
            id: Uuid::new_v4(),
            user,
            kind,
            amount,
            period_start: entitlement.period.start,
            reserved_at: self.clock.now(),
        };
        if amount <= limit
            && self
                .ledger
                .try_reserve(&reservation, limit)
                .await
                .map_err(unavailable)?
        {
            Ok(reservation)
        } else {
            Err(EntitlementError::QuotaExceeded { kind, limit })
        }
    }

    async fn commit(&self, reservation: &QuotaReservation) -> Result<(), EntitlementError> {
        self.ledger
            .commit(reservation.id)
            .await
            .map_err(unavailable)
    }

    async fn release(&self, reservation: &QuotaReservation) -> Result<(), EntitlementError> {
        self.ledger
            .release(reservation.id)
            .await
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
    }

    #[test]
    fn a_lapsed_subscription_period_rolls_forward_by_months() {
        let (start, end) = (at(2027, 1, 15), at(2027, 2, 15));
        assert_eq!(
            BillingPeriod::from_subscription(start, end, at(2027, 2, 1)),
            BillingPeriod { start, end }
        );
        assert_eq!(
            BillingPeriod::from_subscription(start, end, at(2027, 3, 20)),
            BillingPeriod {
                start: at(2027, 3, 15),
                end: at(2027, 4, 15)
            }
        );
    }

    #[test]
    fn a_period_that_ends_before_it_starts_counts_as_the_calendar_month() {
        let now = at(2027, 5, 10);
        for (start, end) in [
            (at(2027, 5, 1), at(2027, 5, 1)),
            (at(2027, 6, 1), at(2027, 5, 1)),
        ] {
            let period = BillingPeriod::from_subscription(start, end, now);
            assert_eq!(period, BillingPeriod::calendar_month(now));
            assert!(period.start() < period.end());
        }
    }

    #[test]
    fn the_free_plan_counts_per_calendar_month() {
        let period = BillingPeriod::calendar_month(at(2027, 12, 31) + chrono::Duration::hours(5));
        assert_eq!(period.start, at(2027, 12, 1));
        assert_eq!(period.end, at(2028, 1, 1));
    }
}
