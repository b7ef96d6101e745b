//! The privacy policy's retention table (P14–P19) as data.

use std::fmt;

use chrono::{DateTime, Days, Months, Utc};
use serde::Serialize;

use crate::ParseError;
use crate::ports::PAYMENT_RECORD_RETENTION_YEARS;

/// A kind of data the retention table covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DataCategory {
    /// Account data of an open account (P14).
    ActiveAccount,
    /// An Instagram connection's OAuth token (P15).
    InstagramToken,
    /// Generated posts and their images (P16).
    GeneratedContent,
    /// Payment records (P17), kept also after the account is closed.
    PaymentRecord,
    /// Server and usage logs (P18).
    UsageLog,
    /// Everything of a closed account except payment records (P19).
    ClosedAccount,
    /// Refresh tokens, password-reset tokens and OAuth `state` values.
    AuthArtifact,
    /// The IP address and user agent recorded with a consent receipt (a Publish click) or a
    /// privacy-policy acceptance. They serve logging, like the usage log (P06, P18), so they
    /// are removed after 30 days; the record itself (content hash, times, account, version)
    /// stays as long as its account.
    ConsentNetworkData,
    /// A Meta data-deletion callback request: its confirmation code, the hashed app-scoped
    /// Meta user id and its status, which the status page Meta links to reads (P34).
    MetaDeletionRequest,
    /// The minimal proof that an erasure was done: the hashed email address and the dates the
    /// request was received and completed ([`ErasureProof`](crate::ErasureProof)). It
    /// survives the account's purge on purpose.
    ErasureProof,
}

impl DataCategory {
    /// Every category, in table order.
    pub const ALL: [DataCategory; 10] = [
        Self::ActiveAccount,
        Self::InstagramToken,
        Self::GeneratedContent,
        Self::PaymentRecord,
        Self::UsageLog,
        Self::ClosedAccount,
        Self::AuthArtifact,
        Self::ConsentNetworkData,
        Self::MetaDeletionRequest,
        Self::ErasureProof,
    ];

    /// The snake_case name used in reports and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ActiveAccount => "active_account",
            Self::InstagramToken => "instagram_token",
            Self::GeneratedContent => "generated_content",
            Self::PaymentRecord => "payment_record",
            Self::UsageLog => "usage_log",
            Self::ClosedAccount => "closed_account",
            Self::AuthArtifact => "auth_artifact",
            Self::ConsentNetworkData => "consent_network_data",
            Self::MetaDeletionRequest => "meta_deletion_request",
            Self::ErasureProof => "erasure_proof",
        }
    }
}

impl fmt::Display for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A length of time data is kept: whole days or whole calendar years.
///
/// Years are calendar years (ten years from 29 February 2028 end on 28 February 2038), not
/// multiples of 365 days, which would end a record's legal retention days early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RetentionPeriod(Span);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
enum Span {
    Days(u32),
    Months(u32),
}

/// The longest period accepted: a century.
const MAX_YEARS: u32 = 100;

impl RetentionPeriod {
    /// Thirty days (usage logs, P18; closed accounts, P19).
    pub const THIRTY_DAYS: Self = Self(Span::Days(30));

    /// Ninety days (Meta data-deletion requests after they complete, P34).
    pub const NINETY_DAYS: Self = Self(Span::Days(90));

    /// Three calendar years (erasure proofs, P28; see [`RetentionPolicy::privacy_policy`]).
    pub const THREE_YEARS: Self = Self(Span::Months(3 * 12));

    /// Ten calendar years (payment records, P17).
    pub const TEN_YEARS: Self = Self(Span::Months(PAYMENT_RECORD_RETENTION_YEARS * 12));

    /// A period of `days` whole days.
    ///
    /// # Errors
    /// [`ParseError`] on field `retention_period` for zero or more than a century of days.
    pub fn days(days: u32) -> Result<Self, ParseError> {
        if days == 0 || days > MAX_YEARS * 366 {
            return Err(ParseError::new(
                "retention_period",
                "must be between 1 day and 100 years",
            ));
        }
        Ok(Self(Span::Days(days)))
    }

    /// A period of `years` calendar years.
    ///
    /// # Errors
    /// [`ParseError`] on field `retention_period` for zero or more than 100 years.
    pub fn years(years: u32) -> Result<Self, ParseError> {
        if years == 0 || years > MAX_YEARS {
            return Err(ParseError::new(
                "retention_period",
                "must be between 1 day and 100 years",
            ));
        }
        Ok(Self(Span::Months(years * 12)))
    }

    /// `instant` minus this period; `None` if that is before the earliest representable time
    /// (then nothing can be that old). A month end that does not exist in the target month is
    /// clamped to that month's last day.
    pub fn before(self, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.0 {
            Span::Days(days) => instant.checked_sub_days(Days::new(u64::from(days))),
            Span::Months(months) => instant.checked_sub_months(Months::new(months)),
        }
    }

    /// `instant` plus this period; `None` past the latest representable time.
    pub fn after(self, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.0 {
            Span::Days(days) => instant.checked_add_days(Days::new(u64::from(days))),
            Span::Months(months) => instant.checked_add_months(Months::new(months)),
        }
    }
}

impl fmt::Display for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Span::Days(1) => f.write_str("1 day"),
            Span::Days(days) => write!(f, "{days} days"),
            Span::Months(12) => f.write_str("1 year"),
            Span::Months(months) if months % 12 == 0 => write!(f, "{} years", months / 12),
            Span::Months(months) => write!(f, "{months} months"),
        }
    }
}

/// How long a category is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "period")]
pub enum RetentionRule {
    /// Kept while the account is open; no time limit.
    WhileActive,
    /// Kept until the user deletes it (or disconnects, or closes the account); no time limit.
    UntilUserAction,
    /// Kept until the item's own expiry instant, then purged.
    UntilExpiry,
    /// Purged once older than the period.
    MaxAge(RetentionPeriod),
    /// Purged once the account has been closed for the period.
    UntilClosurePlus(RetentionPeriod),
    /// Reduced once older than the period: the fields the category names are removed and the
    /// rest of the record is kept (it lives as long as its own rule allows).
    ReduceAfter(RetentionPeriod),
}

impl RetentionRule {
    /// Whether the retention job enforces this rule (the others are enforced by the action
    /// that ends them: a delete, a disconnect, an account closure).
    pub const fn is_time_based(self) -> bool {
        matches!(
            self,
            Self::UntilExpiry | Self::MaxAge(_) | Self::UntilClosurePlus(_) | Self::ReduceAfter(_)
        )
    }

    /// The period of a rule that has one.
    pub const fn period(self) -> Option<RetentionPeriod> {
        match self {
            Self::MaxAge(period) | Self::UntilClosurePlus(period) | Self::ReduceAfter(period) => {
                Some(period)
            }
            Self::WhileActive | Self::UntilUserAction | Self::UntilExpiry => None,
        }
    }
}

/// What the limit of a rule promises, which decides how a late sweep must be planned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionBound {
    /// The data must be gone once the limit passes ("logs are kept 30 days", "deleted within
    /// 30 days of closure"): the planner purges one sweep interval early, so a run that comes
    /// a full interval later is still in time.
    AtMost,
    /// The data must be kept until the limit ("payment records are kept 10 years", a refresh
    /// token is valid until it expires): the planner never purges early; a late sweep only
    /// deletes later.
    AtLeast,
}

/// One row of the retention table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionRow {
    /// The data.
    pub category: DataCategory,
    /// How long it is kept.
    pub rule: RetentionRule,
    /// Whether the rule's limit is a maximum or a minimum.
    pub bound: RetentionBound,
    /// The privacy promise it implements (`"P18"`).
    pub promise: &'static str,
    /// The rule in words.
    pub description: &'static str,
}

/// The retention table. [`RetentionPolicy::privacy_policy`] is the one the service publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RetentionPolicy {
    rows: Vec<RetentionRow>,
}

impl RetentionPolicy {
    /// The privacy policy's table (P14–P19 and what the rights need), one row per
    /// [`DataCategory`].
    ///
    /// Beyond the policy's own table:
    /// - **IP address and user agent of consent receipts and policy acceptances**: reduced
    ///   after 30 days, because the policy names logging as the one purpose of an IP address
    ///   and keeps logs 30 days (P06, P18). What the record proves (who approved which content
    ///   hash, or accepted which version, and when) needs neither.
    /// - **Meta data-deletion requests**: deleted 90 days after they complete (pending ones
    ///   are kept). Meta's callback gives the person a status URL and a confirmation code
    ///   (P34); the row behind it must answer for as long as the request runs (the purge
    ///   takes at most 30 days) and a while after, so that someone who checks late still
    ///   learns that their data is gone. Ninety days after completion is that while; the row
    ///   holds only a hash of the app-scoped id, the code and dates.
    /// - **Erasure proofs**: deleted 3 calendar years after the erasure completed. The proof
    ///   exists to answer a complaint or a claim about that erasure (to the KVKK Board, an EU
    ///   supervisory authority or a court), so it has to outlive the purge; three years is the
    ///   regular limitation period for civil claims in several EU member states (e.g. §195 of
    ///   the German BGB) and comfortably longer than the time in which such a complaint is
    ///   raised in practice. It must not be kept for ever: a hashed address is pseudonymous,
    ///   not anonymous (whoever knows the address can test it). An operator whose counsel
    ///   advises another period changes this row.
    pub fn privacy_policy() -> Self {
        use RetentionBound::{AtLeast, AtMost};
        use RetentionRule::{
            MaxAge, ReduceAfter, UntilClosurePlus, UntilExpiry, UntilUserAction, WhileActive,
        };
        let row = |category, rule, bound, promise, description| RetentionRow {
            category,
            rule,
            bound,
            promise,
            description,
        };
        Self {
            rows: vec![
                row(
                    DataCategory::ActiveAccount,
                    WhileActive,
                    AtLeast,
                    "P14",
                    "account data is kept while the account is active",
                ),
                row(
                    DataCategory::InstagramToken,
                    UntilUserAction,
                    AtMost,
                    "P15",
                    "instagram tokens are kept until the user disconnects or meta revokes them",
                ),
                row(
                    DataCategory::GeneratedContent,
                    UntilUserAction,
                    AtMost,
                    "P16",
                    "generated content is kept until the user deletes it or closes the account",
                ),
                row(
                    DataCategory::PaymentRecord,
                    MaxAge(RetentionPeriod::TEN_YEARS),
                    AtLeast,
                    "P17",
                    "payment records are kept 10 years, also after the account is closed",
                ),
                row(
                    DataCategory::UsageLog,
                    MaxAge(RetentionPeriod::THIRTY_DAYS),
                    AtMost,
                    "P18",
                    "server and usage logs are kept 30 days",
                ),
                row(
                    DataCategory::ClosedAccount,
                    UntilClosurePlus(RetentionPeriod::THIRTY_DAYS),
                    AtMost,
                    "P19",
                    "all data of a closed account except payment records is deleted within 30 days",
                ),
                row(
                    DataCategory::AuthArtifact,
                    UntilExpiry,
                    AtLeast,
                    "P24",
                    "refresh tokens, reset tokens and oauth states are deleted once expired",
                ),
                row(
                    DataCategory::ConsentNetworkData,
                    ReduceAfter(RetentionPeriod::THIRTY_DAYS),
                    AtMost,
                    "P18",
                    "the ip address and user agent of consent receipts and policy acceptances \
                     are removed after 30 days; the record keeps its hash, times and account",
                ),
                row(
                    DataCategory::MetaDeletionRequest,
                    MaxAge(RetentionPeriod::NINETY_DAYS),
                    AtMost,
                    "P34",
                    "meta data-deletion requests are deleted 90 days after they complete",
                ),
                row(
                    DataCategory::ErasureProof,
                    MaxAge(RetentionPeriod::THREE_YEARS),
                    AtMost,
                    "P28",
                    "proofs of erasure (hashed email, request and completion dates) are \
                     deleted 3 years after the erasure",
                ),
            ],
        }
    }

    /// The table without the rows of `categories`, for an embedder that keeps no such data
    /// (a deployment that records no IP address has no [`DataCategory::ConsentNetworkData`]
    /// to reduce). A row left out is neither planned nor swept, so leave out only data that
    /// your stores do not hold.
    pub fn without(mut self, categories: &[DataCategory]) -> Self {
        self.rows.retain(|row| !categories.contains(&row.category));
        self
    }

    /// Every row, in table order.
    pub fn rows(&self) -> &[RetentionRow] {
        &self.rows
    }

    /// The row of `category`.
    pub fn row(&self, category: DataCategory) -> Option<&RetentionRow> {
        self.rows.iter().find(|row| row.category == category)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn the_privacy_policy_has_exactly_one_row_per_category() {
        let policy = RetentionPolicy::privacy_policy();
        assert_eq!(policy.rows().len(), DataCategory::ALL.len());
        for category in DataCategory::ALL {
            assert_eq!(policy.row(category).map(|row| row.category), Some(category));
        }
    }

    #[test]
    fn the_table_states_the_promised_limits() {
        let policy = RetentionPolicy::privacy_policy();
        let rule = |category| policy.row(category).unwrap().rule;
        let promise = |category| policy.row(category).unwrap().promise;
        assert_eq!(
            rule(DataCategory::ActiveAccount),
            RetentionRule::WhileActive
        );
        assert_eq!(promise(DataCategory::ActiveAccount), "P14");
        assert_eq!(
            rule(DataCategory::InstagramToken),
            RetentionRule::UntilUserAction
        );
        assert_eq!(promise(DataCategory::InstagramToken), "P15");
        assert_eq!(
            rule(DataCategory::GeneratedContent),
            RetentionRule::UntilUserAction
        );
        assert_eq!(promise(DataCategory::GeneratedContent), "P16");
        assert_eq!(
            rule(DataCategory::PaymentRecord),
            RetentionRule::MaxAge(RetentionPeriod::years(10).unwrap())
        );
        assert_eq!(promise(DataCategory::PaymentRecord), "P17");
        assert_eq!(
            rule(DataCategory::UsageLog),
            RetentionRule::MaxAge(RetentionPeriod::days(30).unwrap())
        );
        assert_eq!(promise(DataCategory::UsageLog), "P18");
        assert_eq!(
            rule(DataCategory::ClosedAccount),
            RetentionRule::UntilClosurePlus(RetentionPeriod::days(30).unwrap())
        );
        assert_eq!(promise(DataCategory::ClosedAccount), "P19");
        assert_eq!(rule(DataCategory::AuthArtifact), RetentionRule::UntilExpiry);
        assert_eq!(
            rule(DataCategory::ConsentNetworkData),
            RetentionRule::ReduceAfter(RetentionPeriod::days(30).unwrap())
        );
        assert_eq!(promise(DataCategory::ConsentNetworkData), "P18");
        assert_eq!(
            rule(DataCategory::MetaDeletionRequest),
            RetentionRule::MaxAge(RetentionPeriod::days(90).unwrap())
        );
        assert_eq!(promise(DataCategory::MetaDeletionRequest), "P34");
        assert_eq!(
            rule(DataCategory::ErasureProof),
            RetentionRule::MaxAge(RetentionPeriod::years(3).unwrap())
        );
        assert_eq!(promise(DataCategory::ErasureProof), "P28");
    }

    #[test]
    fn every_new_deletion_rule_is_an_upper_bound() {
        let policy = RetentionPolicy::privacy_policy();
        for category in [
            DataCategory::ConsentNetworkData,
            DataCategory::MetaDeletionRequest,
            DataCategory::ErasureProof,
        ] {
            let row = policy.row(category).unwrap();
            assert_eq!(row.bound, RetentionBound::AtMost, "{category}");
            assert!(row.rule.is_time_based(), "{category}");
        }
    }

    #[test]
    fn rows_can_be_left_out_for_data_an_embedder_does_not_keep() {
        let policy = RetentionPolicy::privacy_policy().without(&[DataCategory::ConsentNetworkData]);
        assert!(policy.row(DataCategory::ConsentNetworkData).is_none());
        assert_eq!(policy.rows().len(), DataCategory::ALL.len() - 1);
        assert!(policy.row(DataCategory::UsageLog).is_some());
    }

    #[test]
    fn only_promises_to_keep_are_lower_bounds() {
        let policy = RetentionPolicy::privacy_policy();
        let bound = |category| policy.row(category).unwrap().bound;
        assert_eq!(bound(DataCategory::UsageLog), RetentionBound::AtMost);
        assert_eq!(bound(DataCategory::ClosedAccount), RetentionBound::AtMost);
        assert_eq!(bound(DataCategory::PaymentRecord), RetentionBound::AtLeast);
        assert_eq!(bound(DataCategory::AuthArtifact), RetentionBound::AtLeast);
    }

    #[test]
    fn periods_reject_zero_and_absurd_lengths() {
        assert!(RetentionPeriod::days(0).is_err());
        assert!(RetentionPeriod::years(0).is_err());
        assert!(RetentionPeriod::years(101).is_err());
        assert!(RetentionPeriod::days(36_601).is_err());
        assert_eq!(RetentionPeriod::days(30), Ok(RetentionPeriod::THIRTY_DAYS));
        assert_eq!(RetentionPeriod::years(10), Ok(RetentionPeriod::TEN_YEARS));
    }

    #[test]
    fn ten_years_are_calendar_years_not_3650_days() {
        let paid = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let end = RetentionPeriod::TEN_YEARS.after(paid).unwrap();
        assert_eq!(end, Utc.with_ymd_and_hms(2036, 3, 1, 12, 0, 0).unwrap());
        assert!(
            end > paid + chrono::Duration::days(3650),
            "leap days are counted"
        );
        // A day that does not exist ten years later is clamped to the month's end.
        let leap = Utc.with_ymd_and_hms(2028, 2, 29, 0, 0, 0).unwrap();
        assert_eq!(
            RetentionPeriod::TEN_YEARS.after(leap),
            Some(Utc.with_ymd_and_hms(2038, 2, 28, 0, 0, 0).unwrap())
        );
        assert_eq!(
            RetentionPeriod::THIRTY_DAYS.before(DateTime::<Utc>::MIN_UTC),
            None
        );
    }

    #[test]
    fn periods_read_as_words() {
        assert_eq!(RetentionPeriod::THIRTY_DAYS.to_string(), "30 days");
        assert_eq!(RetentionPeriod::TEN_YEARS.to_string(), "10 years");
        assert_eq!(RetentionPeriod::years(1).unwrap().to_string(), "1 year");
        assert_eq!(RetentionPeriod::days(1).unwrap().to_string(), "1 day");
    }

    #[test]
    fn the_table_serializes_for_publication() {
        let json = serde_json::to_value(RetentionPolicy::privacy_policy()).unwrap();
        let usage = json
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["category"] == "usage_log")
            .unwrap();
        assert_eq!(
            usage["rule"],
            serde_json::json!({"rule": "max_age", "period": {"days": 30}})
        );
        assert_eq!(usage["bound"], "at_most");
        assert_eq!(usage["promise"], "P18");
        let network = json
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["category"] == "consent_network_data")
            .unwrap();
        assert_eq!(
            network["rule"],
            serde_json::json!({"rule": "reduce_after", "period": {"days": 30}})
        );
        assert_eq!(RetentionPeriod::THREE_YEARS.to_string(), "3 years");
    }
}
