//! What the retention table makes due at a given instant.

use chrono::{DateTime, Utc};

use super::{DataCategory, RetentionBound, RetentionError, RetentionPolicy, RetentionRule};

/// One category's purge at one instant: every item whose reference instant is strictly before
/// `cutoff` is due.
///
/// The reference instant depends on the category: when a log line was written, when an account
/// was closed, when a payment record was recorded (paid, else reported), when an
/// authentication artifact expires, when a consent receipt or policy acceptance was recorded,
/// when a Meta deletion request or an erasure completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedPurge {
    /// The data.
    pub category: DataCategory,
    /// Items whose reference instant is before this are due.
    pub cutoff: DateTime<Utc>,
}

/// Everything the retention table makes due at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPlan {
    at: DateTime<Utc>,
    purges: Vec<PlannedPurge>,
}

impl RetentionPlan {
    /// The instant the plan was made for.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The purges, in table order. Categories without a time rule are absent.
    pub fn purges(&self) -> &[PlannedPurge] {
        &self.purges
    }

    /// The cutoff of `category`, if the plan purges it.
    pub fn cutoff(&self, category: DataCategory) -> Option<DateTime<Utc>> {
        self.purges
            .iter()
            .find(|purge| purge.category == category)
            .map(|purge| purge.cutoff)
    }

    /// Whether an item of `category` whose reference instant is `reference` is due now.
    /// Stores implement exactly this comparison: strictly before the cutoff.
    pub fn is_due(&self, category: DataCategory, reference: DateTime<Utc>) -> bool {
        self.cutoff(category)
            .is_some_and(|cutoff| reference < cutoff)
    }
}

/// Turns the retention table into cutoffs at a given instant.
#[derive(Debug, Clone)]
pub struct RetentionPlanner {
    policy: RetentionPolicy,
    sweep_interval: chrono::Duration,
}

impl RetentionPlanner {
    /// A planner for `policy` whose sweeps run at least every `sweep_interval`.
    ///
    /// For [`RetentionBound::AtMost`] rows the cutoff is moved one interval earlier: an item is
    /// purged by the last sweep before its limit rather than the first one after it, so the
    /// promise ("deleted within 30 days") holds even though sweeps are periodic. Pass
    /// [`std::time::Duration::ZERO`] to purge exactly at the limits.
    ///
    /// # Errors
    /// [`RetentionError::SweepIntervalTooLong`] when the interval is not shorter than the
    /// period of an `AtMost` row (every sweep would then purge everything).
    pub fn new(
        policy: RetentionPolicy,
        sweep_interval: std::time::Duration,
    ) -> Result<Self, RetentionError> {
        let too_long = |category| RetentionError::SweepIntervalTooLong { category };
        let interval = chrono::Duration::from_std(sweep_interval)
            .map_err(|_| too_long(DataCategory::UsageLog))?;
        // Probe with a fixed instant: the interval must leave every AtMost period positive.
        let probe = DateTime::<Utc>::UNIX_EPOCH;
        for row in policy.rows() {
            let period = match (row.bound, row.rule.period()) {
                (RetentionBound::AtMost, Some(period)) => period,
                _ => continue,
            };
            let limit = period.after(probe).ok_or(too_long(row.category))?;
            if probe + interval >= limit {
                return Err(too_long(row.category));
            }
        }
        Ok(Self {
            policy,
            sweep_interval: interval,
        })
    }

    /// The table this planner follows.
    pub fn policy(&self) -> &RetentionPolicy {
        &self.policy
    }

    /// The plan at `now`:
    ///
    /// - `MaxAge(p)`: items created before `now - p` (usage logs: 30 days; payment records:
    ///   10 calendar years), or completed before it (Meta deletion requests: 90 days; erasure
    ///   proofs: 3 years);
    /// - `UntilClosurePlus(p)`: accounts closed before `now - p`;
    /// - `ReduceAfter(p)`: records made before `now - p` still holding the fields to remove
    ///   (the network data of consent receipts and policy acceptances: 30 days);
    /// - `UntilExpiry`: artifacts that expired before `now`;
    ///
    /// each one sweep interval later for `AtMost` rows (see [`RetentionPlanner::new`]). Rows
    /// without a time rule are not planned; a cutoff before the earliest representable time is
    /// left out (nothing can be that old).
    pub fn plan(&self, now: DateTime<Utc>) -> RetentionPlan {
        let purges = self
            .policy
            .rows()
            .iter()
            .filter_map(|row| {
                let base = match row.bound {
                    RetentionBound::AtMost => now.checked_add_signed(self.sweep_interval)?,
                    RetentionBound::AtLeast => now,
                };
                let cutoff = match row.rule {
                    RetentionRule::MaxAge(period)
                    | RetentionRule::UntilClosurePlus(period)
                    | RetentionRule::ReduceAfter(period) => period.before(base)?,
                    RetentionRule::UntilExpiry => base,
                    RetentionRule::WhileActive | RetentionRule::UntilUserAction => return None,
                };
                Some(PlannedPurge {
                    category: row.category,
                    cutoff,
                })
            })
            .collect();
        RetentionPlan { at: now, purges }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration as StdDuration;

    use chrono::{Duration, TimeZone as _};

    use super::*;
    use crate::{Clock as _, ManualClock};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 15, 9, 30, 0).unwrap()
    }

    fn exact_planner() -> RetentionPlanner {
        RetentionPlanner::new(RetentionPolicy::privacy_policy(), StdDuration::ZERO).unwrap()
    }

    fn almost_30_days() -> Duration {
        Duration::days(29) + Duration::hours(23) + Duration::minutes(59) + Duration::seconds(59)
    }

    fn just_over_30_days() -> Duration {
        Duration::days(30) + Duration::seconds(1)
    }

    #[test]
    fn only_time_based_rows_are_planned() {
        let plan = exact_planner().plan(start());
        let planned: Vec<_> = plan.purges().iter().map(|purge| purge.category).collect();
        assert_eq!(
            planned,
            vec![
                DataCategory::PaymentRecord,
                DataCategory::UsageLog,
                DataCategory::ClosedAccount,
                DataCategory::AuthArtifact,
                DataCategory::ConsentNetworkData,
                DataCategory::MetaDeletionRequest,
                DataCategory::ErasureProof,
            ]
        );
        for category in [
            DataCategory::ActiveAccount,
            DataCategory::InstagramToken,
            DataCategory::GeneratedContent,
        ] {
            assert_eq!(plan.cutoff(category), None);
            assert!(!plan.is_due(category, DateTime::<Utc>::MIN_UTC));
        }
    }

    #[test]
    fn a_usage_log_line_is_purged_one_second_after_30_days_and_not_one_second_before() {
        let clock = ManualClock::new(start());
        let logged_at = clock.now();
        let planner = exact_planner();

        clock.set(logged_at + almost_30_days());
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::UsageLog, logged_at)
        );

        clock.set(logged_at + Duration::days(30));
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::UsageLog, logged_at),
            "exactly 30 days old is still within the 30 days"
        );

        clock.set(logged_at + just_over_30_days());
        let plan = planner.plan(clock.now());
        assert!(plan.is_due(DataCategory::UsageLog, logged_at));
        assert_eq!(
            plan.cutoff(DataCategory::UsageLog),
            Some(clock.now() - Duration::days(30))
        );
    }

    #[test]
    fn a_closed_account_is_purged_one_second_after_closure_plus_30_days() {
        let clock = ManualClock::new(start());
        let closed_at = clock.now();
        let planner = exact_planner();

        clock.advance(almost_30_days());
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::ClosedAccount, closed_at)
        );

        clock.set(closed_at + just_over_30_days());
        let plan = planner.plan(clock.now());
        assert!(plan.is_due(DataCategory::ClosedAccount, closed_at));
        assert_eq!(
            plan.cutoff(DataCategory::ClosedAccount),
            Some(clock.now() - Duration::days(30))
        );
    }

    #[test]
    fn a_payment_record_is_kept_ten_calendar_years_and_purged_one_second_later() {
        let clock = ManualClock::new(start());
        let paid_at = clock.now();
        let ten_years_later = Utc.with_ymd_and_hms(2036, 6, 15, 9, 30, 0).unwrap();
        let planner = exact_planner();

        clock.set(ten_years_later - Duration::seconds(1));
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::PaymentRecord, paid_at)
        );

        // 3650 days would already be past: leap days must not shorten the ten years.
        clock.set(paid_at + Duration::days(3651));
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::PaymentRecord, paid_at)
        );

        clock.set(ten_years_later + Duration::seconds(1));
        assert!(
            planner
                .plan(clock.now())
                .is_due(DataCategory::PaymentRecord, paid_at)
        );
    }

    #[test]
    fn a_receipts_address_and_agent_are_reduced_one_second_after_30_days_and_not_before() {
        let clock = ManualClock::new(start());
        let approved_at = clock.now();
        let planner = exact_planner();

        clock.set(approved_at + almost_30_days());
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::ConsentNetworkData, approved_at)
        );
        clock.set(approved_at + just_over_30_days());
        let plan = planner.plan(clock.now());
        assert!(plan.is_due(DataCategory::ConsentNetworkData, approved_at));
        assert_eq!(
            plan.cutoff(DataCategory::ConsentNetworkData),
            Some(clock.now() - Duration::days(30))
        );
    }

    #[test]
    fn a_meta_deletion_request_is_kept_90_days_after_it_completes() {
        let clock = ManualClock::new(start());
        let completed_at = clock.now();
        let planner = exact_planner();

        clock.set(completed_at + Duration::days(90) - Duration::seconds(1));
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::MetaDeletionRequest, completed_at)
        );
        clock.set(completed_at + Duration::days(90) + Duration::seconds(1));
        assert!(
            planner
                .plan(clock.now())
                .is_due(DataCategory::MetaDeletionRequest, completed_at)
        );
    }

    #[test]
    fn an_erasure_proof_outlives_the_purge_and_goes_three_calendar_years_after_the_erasure() {
        let clock = ManualClock::new(start());
        let erased_at = clock.now();
        let planner = exact_planner();

        // The account's purge window passes; the proof stays.
        clock.set(erased_at + Duration::days(31));
        let plan = planner.plan(clock.now());
        assert!(plan.is_due(DataCategory::ClosedAccount, erased_at));
        assert!(!plan.is_due(DataCategory::ErasureProof, erased_at));

        let three_years_later = Utc.with_ymd_and_hms(2029, 6, 15, 9, 30, 0).unwrap();
        clock.set(three_years_later - Duration::seconds(1));
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::ErasureProof, erased_at)
        );
        clock.set(three_years_later + Duration::seconds(1));
        assert!(
            planner
                .plan(clock.now())
                .is_due(DataCategory::ErasureProof, erased_at)
        );
    }

    #[test]
    fn a_sweep_interval_reduces_network_data_early_enough() {
        let hourly = RetentionPlanner::new(
            RetentionPolicy::privacy_policy(),
            StdDuration::from_secs(3600),
        )
        .unwrap();
        let now = start();
        assert_eq!(
            hourly.plan(now).cutoff(DataCategory::ConsentNetworkData),
            Some(now + Duration::hours(1) - Duration::days(30))
        );
    }

    #[test]
    fn payment_records_survive_the_closed_account_purge_window() {
        let clock = ManualClock::new(start());
        let closed_and_paid = clock.now();
        clock.advance(Duration::days(31));
        let plan = exact_planner().plan(clock.now());
        assert!(plan.is_due(DataCategory::ClosedAccount, closed_and_paid));
        assert!(!plan.is_due(DataCategory::PaymentRecord, closed_and_paid));
    }

    #[test]
    fn an_auth_artifact_is_purged_once_expired_and_not_a_second_before() {
        let clock = ManualClock::new(start());
        let expires_at = clock.now() + Duration::minutes(15);
        let planner = exact_planner();

        clock.set(expires_at - Duration::seconds(1));
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::AuthArtifact, expires_at)
        );
        clock.set(expires_at);
        assert!(
            !planner
                .plan(clock.now())
                .is_due(DataCategory::AuthArtifact, expires_at)
        );
        clock.set(expires_at + Duration::seconds(1));
        let plan = planner.plan(clock.now());
        assert!(plan.is_due(DataCategory::AuthArtifact, expires_at));
        assert_eq!(plan.cutoff(DataCategory::AuthArtifact), Some(clock.now()));
    }

    #[test]
    fn a_sweep_interval_purges_deletion_promises_early_enough_and_keep_promises_never_early() {
        let daily = RetentionPlanner::new(
            RetentionPolicy::privacy_policy(),
            StdDuration::from_secs(24 * 3600),
        )
        .unwrap();
        let now = start();
        let plan = daily.plan(now);
        // Due by the last daily run before the 30 days are over.
        let closed_at = now - Duration::days(29) - Duration::seconds(1);
        assert!(
            !exact_planner()
                .plan(now)
                .is_due(DataCategory::ClosedAccount, closed_at)
        );
        assert!(plan.is_due(DataCategory::ClosedAccount, closed_at));
        assert_eq!(
            plan.cutoff(DataCategory::UsageLog),
            Some(now - Duration::days(29))
        );
        // Keep promises are unaffected.
        assert_eq!(
            plan.cutoff(DataCategory::PaymentRecord),
            exact_planner()
                .plan(now)
                .cutoff(DataCategory::PaymentRecord)
        );
        assert_eq!(plan.cutoff(DataCategory::AuthArtifact), Some(now));
    }

    #[test]
    fn a_sweep_interval_as_long_as_a_deletion_period_is_refused() {
        let thirty_days = StdDuration::from_secs(30 * 24 * 3600);
        assert_eq!(
            RetentionPlanner::new(RetentionPolicy::privacy_policy(), thirty_days).unwrap_err(),
            RetentionError::SweepIntervalTooLong {
                category: DataCategory::UsageLog
            }
        );
        assert!(
            RetentionPlanner::new(RetentionPolicy::privacy_policy(), StdDuration::MAX).is_err()
        );
    }

    #[test]
    fn cutoffs_that_would_underflow_time_are_left_out() {
        let plan = exact_planner().plan(DateTime::<Utc>::MIN_UTC);
        assert_eq!(plan.cutoff(DataCategory::UsageLog), None);
        assert_eq!(
            plan.cutoff(DataCategory::AuthArtifact),
            Some(DateTime::<Utc>::MIN_UTC)
        );
        assert_eq!(plan.at(), DateTime::<Utc>::MIN_UTC);
    }
}
