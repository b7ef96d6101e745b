//! Meta's rate-limit headers (`X-App-Usage`, `X-Business-Use-Case-Usage`) and the bookkeeping
//! that slows the client down before Meta starts refusing calls.
//!
//! The figures are percentages of a limit (they may exceed 100). Meta sends the headers only
//! "once enough calls were made", so a missing header never means zero usage: the last reading
//! is kept until it is replaced or grows stale.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::config::UsagePolicy;

/// The `X-App-Usage` header: percentages of the app's hourly Platform limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AppUsage {
    /// Calls made, as a percentage of the limit.
    pub call_count: u32,
    /// CPU time used, as a percentage.
    pub total_cputime: u32,
    /// Total time used, as a percentage.
    pub total_time: u32,
}

impl AppUsage {
    /// Parses the header value (a JSON object). Unknown keys are ignored; missing figures are 0.
    /// Returns `None` when the value is not a JSON object.
    pub fn parse(value: &str) -> Option<Self> {
        let map: Map<String, Value> = serde_json::from_str(value).ok()?;
        Some(Self {
            call_count: percent(&map, "call_count"),
            total_cputime: percent(&map, "total_cputime"),
            total_time: percent(&map, "total_time"),
        })
    }

    /// The highest of the three figures.
    pub fn max_percent(&self) -> u32 {
        self.call_count.max(self.total_cputime).max(self.total_time)
    }
}

/// One entry of `X-Business-Use-Case-Usage`: the usage of one use case of one business object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusinessUsage {
    /// The business object id (the header's outer key).
    pub object_id: String,
    /// The use case (`instagram`, `pages`, `ads_management`…).
    pub use_case: String,
    /// Calls made, as a percentage of the limit.
    pub call_count: u32,
    /// CPU time used, as a percentage.
    pub total_cputime: u32,
    /// Total time used, as a percentage.
    pub total_time: u32,
    /// How long until calls are accepted again (Meta sends minutes; zero unless throttled).
    pub estimated_time_to_regain_access: Duration,
}

impl BusinessUsage {
    /// The highest of the three percentages.
    pub fn max_percent(&self) -> u32 {
        self.call_count.max(self.total_cputime).max(self.total_time)
    }
}

/// The `X-Business-Use-Case-Usage` header: per business object, one entry per use case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BusinessUseCaseUsage {
    /// Every entry, in the header's order.
    pub entries: Vec<BusinessUsage>,
}

impl BusinessUseCaseUsage {
    /// Parses the header value. Entries that are not objects are skipped and unknown keys are
    /// ignored. Returns `None` when the value is not a JSON object.
    pub fn parse(value: &str) -> Option<Self> {
        let map: Map<String, Value> = serde_json::from_str(value).ok()?;
        let mut entries = Vec::new();
        for (object_id, value) in map {
            // Documented as an array per object; a lone object is tolerated.
            let items = match value {
                Value::Array(items) => items,
                Value::Object(_) => vec![value],
                _ => continue,
            };
            for item in items {
                let Value::Object(fields) = item else {
                    continue;
                };
                let minutes = u64::from(percent(&fields, "estimated_time_to_regain_access"));
                entries.push(BusinessUsage {
                    object_id: object_id.clone(),
                    use_case: fields
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    call_count: percent(&fields, "call_count"),
                    total_cputime: percent(&fields, "total_cputime"),
                    total_time: percent(&fields, "total_time"),
                    estimated_time_to_regain_access: Duration::from_secs(minutes * 60),
                });
            }
        }
        Some(Self { entries })
    }

    /// The highest percentage over every entry (0 when there is none).
    pub fn max_percent(&self) -> u32 {
        self.entries
            .iter()
            .map(BusinessUsage::max_percent)
            .max()
            .unwrap_or(0)
    }

    /// The longest `estimated_time_to_regain_access`, when any entry is throttled.
    pub fn regain_access_in(&self) -> Option<Duration> {
        self.entries
            .iter()
            .map(|e| e.estimated_time_to_regain_access)
            .filter(|d| !d.is_zero())
            .max()
    }
}

/// The usage Meta reported on one response (either header may be missing).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Usage {
    /// `X-App-Usage`, when sent.
    pub app: Option<AppUsage>,
    /// `X-Business-Use-Case-Usage`, when sent.
    pub business: Option<BusinessUseCaseUsage>,
}

impl Usage {
    /// Reads both headers from a response; unparseable values count as missing.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Self {
            app: text("x-app-usage").and_then(AppUsage::parse),
            business: text("x-business-use-case-usage").and_then(BusinessUseCaseUsage::parse),
        }
    }

    /// The highest percentage of either header (0 when both are missing).
    pub fn max_percent(&self) -> u32 {
        let app = self.app.map_or(0, |a| a.max_percent());
        let business = self.business.as_ref().map_or(0, |b| b.max_percent());
        app.max(business)
    }

    /// How long until Meta accepts calls again, when it says so.
    pub fn regain_access_in(&self) -> Option<Duration> {
        self.business.as_ref().and_then(|b| b.regain_access_in())
    }
}

/// Reads a percentage leniently: integers, floats and numeric strings; anything else is 0.
fn percent(map: &Map<String, Value>, key: &str) -> u32 {
    let value = match map.get(key) {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.trim().parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    };
    if value.is_finite() && value > 0.0 {
        // Saturating: absurd values clamp to u32::MAX instead of wrapping.
        value.round().min(f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

/// A token's identity for bookkeeping: its SHA-256, so that no token is kept in memory here.
pub(crate) type TokenKey = [u8; 32];

/// Fingerprints a token.
pub(crate) fn token_key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

/// What to do before a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Call now.
    Proceed,
    /// Wait this long, then call.
    SlowDown(Duration),
    /// Don't call: Meta said access returns after this long.
    Blocked(Duration),
}

#[derive(Debug, Clone, Copy)]
struct TokenReading {
    max_percent: u32,
    seen: Instant,
    blocked_until: Option<Instant>,
}

/// The last usage readings: app-wide (the app limit is shared by every token) and per token
/// (business use-case limits are per app-and-user pair).
#[derive(Debug, Default)]
pub(crate) struct UsageTracker {
    app: Option<(AppUsage, Instant)>,
    last: Usage,
    per_token: HashMap<TokenKey, TokenReading>,
}

/// Above this many remembered tokens, stale readings are dropped.
const MAX_TRACKED_TOKENS: usize = 4096;

impl UsageTracker {
    /// Records what a response said.
    pub(crate) fn record(
        &mut self,
        token: Option<TokenKey>,
        usage: &Usage,
        now: Instant,
        policy: &UsagePolicy,
    ) {
        if let Some(app) = usage.app {
            self.app = Some((app, now));
            self.last.app = Some(app);
        }
        let Some(business) = &usage.business else {
            return;
        };
        self.last.business = Some(business.clone());
        let Some(key) = token else {
            return;
        };
        if self.per_token.len() >= MAX_TRACKED_TOKENS {
            self.per_token.retain(|_, r| {
                now.duration_since(r.seen) < policy.reading_ttl
                    || r.blocked_until.is_some_and(|until| until > now)
            });
        }
        self.per_token.insert(
            key,
            TokenReading {
                max_percent: business.max_percent(),
                seen: now,
                blocked_until: business.regain_access_in().map(|d| now + d),
            },
        );
    }

    /// Decides whether a call with this token may go out now.
    pub(crate) fn gate(&self, token: Option<TokenKey>, now: Instant, policy: &UsagePolicy) -> Gate {
        let fresh = |seen: Instant| now.duration_since(seen) < policy.reading_ttl;
        let reading = token.and_then(|key| self.per_token.get(&key));
        if policy.fail_fast_while_throttled
            && let Some(until) = reading.and_then(|r| r.blocked_until)
            && until > now
        {
            return Gate::Blocked(until - now);
        }
        let app = self
            .app
            .filter(|(_, seen)| fresh(*seen))
            .map_or(0, |(a, _)| a.max_percent());
        let business = reading
            .filter(|r| fresh(r.seen))
            .map_or(0, |r| r.max_percent);
        if app.max(business) >= policy.slow_down_at_percent {
            Gate::SlowDown(policy.slow_down_delay)
        } else {
            Gate::Proceed
        }
    }

    /// The last readings of both headers, whatever token they came with.
    pub(crate) fn last(&self) -> Usage {
        self.last.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_usage_parses_the_documented_example() {
        let usage = AppUsage::parse(r#"{"call_count":28,"total_cputime":25,"total_time":25}"#);
        assert_eq!(
            usage,
            Some(AppUsage {
                call_count: 28,
                total_cputime: 25,
                total_time: 25
            })
        );
        assert_eq!(usage.unwrap().max_percent(), 28);
    }

    #[test]
    fn app_usage_tolerates_unknown_keys_strings_floats_and_missing_figures() {
        let usage =
            AppUsage::parse(r#"{"call_count":"91","total_time":12.6,"new_field":[1]}"#).unwrap();
        assert_eq!(usage.call_count, 91);
        assert_eq!(usage.total_time, 13);
        assert_eq!(usage.total_cputime, 0);
    }

    #[test]
    fn app_usage_rejects_values_that_are_not_json_objects() {
        assert_eq!(AppUsage::parse("not json"), None);
        assert_eq!(AppUsage::parse("[1,2]"), None);
    }

    #[test]
    fn business_usage_reads_every_object_and_use_case_and_converts_minutes() {
        let header = r#"{"1784":[{"type":"instagram","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":7}],
                         "1122":[{"type":"pages","call_count":3,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0},
                                 {"type":"ads_management","call_count":4,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0,"ads_api_access_tier":"standard_access"}]}"#;
        let usage = BusinessUseCaseUsage::parse(header).unwrap();
        assert_eq!(usage.entries.len(), 3);
        assert_eq!(usage.max_percent(), 95);
        assert_eq!(usage.regain_access_in(), Some(Duration::from_secs(420)));
        let ig = usage
            .entries
            .iter()
            .find(|e| e.use_case == "instagram")
            .unwrap();
        assert_eq!(ig.object_id, "1784");
    }

    #[test]
    fn business_usage_without_throttling_has_no_regain_time() {
        let usage = BusinessUseCaseUsage::parse(
            r#"{"1":[{"type":"instagram","call_count":5,"estimated_time_to_regain_access":0}]}"#,
        )
        .unwrap();
        assert_eq!(usage.regain_access_in(), None);
    }

    #[test]
    fn business_usage_skips_malformed_entries() {
        let usage = BusinessUseCaseUsage::parse(
            r#"{"1":"oops","2":[7,{"call_count":40}],"3":{"call_count":9}}"#,
        )
        .unwrap();
        assert_eq!(usage.entries.len(), 2);
        assert_eq!(usage.max_percent(), 40);
    }

    #[test]
    fn the_tracker_slows_down_above_the_threshold_and_forgets_stale_readings() {
        let policy = UsagePolicy::default();
        let mut tracker = UsageTracker::default();
        let now = Instant::now();
        let high = Usage {
            app: Some(AppUsage {
                call_count: 85,
                ..AppUsage::default()
            }),
            business: None,
        };
        assert_eq!(tracker.gate(None, now, &policy), Gate::Proceed);
        tracker.record(None, &high, now, &policy);
        assert_eq!(
            tracker.gate(None, now, &policy),
            Gate::SlowDown(policy.slow_down_delay)
        );
        let later = now + policy.reading_ttl;
        assert_eq!(tracker.gate(None, later, &policy), Gate::Proceed);
    }

    #[test]
    fn the_tracker_blocks_only_the_throttled_token_until_access_returns() {
        let policy = UsagePolicy::default();
        let mut tracker = UsageTracker::default();
        let now = Instant::now();
        let throttled = Usage {
            app: None,
            business: BusinessUseCaseUsage::parse(
                r#"{"1":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":7}]}"#,
            ),
        };
        let a = token_key("token-a");
        let b = token_key("token-b");
        tracker.record(Some(a), &throttled, now, &policy);
        assert_eq!(
            tracker.gate(Some(a), now, &policy),
            Gate::Blocked(Duration::from_secs(420))
        );
        assert_eq!(tracker.gate(Some(b), now, &policy), Gate::Proceed);
        let after = now + Duration::from_secs(421);
        assert_eq!(
            tracker.gate(Some(a), after, &policy),
            Gate::SlowDown(policy.slow_down_delay)
        );
    }
}
