//! Billing configuration beyond the Stripe credentials: the plans, the plan that applies while
//! Stripe is not configured, and how long one Stripe call may take.

use std::time::Duration;

use kraftsoci_billing::{Plan, PlanTable};

use super::ConfigError;

/// The plan every account gets while Stripe is not configured, unless
/// `KRAFTSOCI_UNBILLED_PLAN` says otherwise: generous, so development and the sandbox are not
/// throttled by quotas meant for paying customers.
pub const DEFAULT_UNBILLED_PLAN: &str =
    r#"{"name": "development", "monthly_posts": 1000, "monthly_images": 1000}"#;

/// The default for `STRIPE_TIMEOUT_SECS`.
const DEFAULT_STRIPE_TIMEOUT_SECS: u64 = 20;

/// Plans and Stripe call limits.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// `KRAFTSOCI_PLANS`: the plans sold through Stripe Checkout, as a JSON list
    /// (`[{"name", "price_id", "monthly_posts", "monthly_images"}]`; at most one plan without
    /// `price_id`: the free plan of accounts without a subscription). Required in production;
    /// in development it defaults to `free` (10 posts, 5 images), `starter`
    /// (`price_dev_starter`) and `pro` (`price_dev_pro`), whose prices exist in no Stripe
    /// account.
    pub plans: PlanTable,
    /// `KRAFTSOCI_UNBILLED_PLAN`: the one plan, as a JSON object without `price_id`, that
    /// every account gets while `STRIPE_SECRET_KEY` is unset (development and the sandbox
    /// only: production requires Stripe). Default [`DEFAULT_UNBILLED_PLAN`].
    pub unbilled_plan: Plan,
    /// `STRIPE_TIMEOUT_SECS`: how long one attempt of a Stripe call may take (1 to 120,
    /// default 20; a call makes up to three attempts with the same `Idempotency-Key`).
    pub stripe_timeout: Duration,
}

/// Reads the billing variables through `get` (trimmed, empty as unset).
pub(super) fn load(
    get: impl Fn(&'static str) -> Option<String>,
    production: bool,
) -> Result<BillingConfig, ConfigError> {
    let plans = match get("KRAFTSOCI_PLANS") {
        Some(json) => PlanTable::from_json(&json)
            .map_err(|e| ConfigError::new("KRAFTSOCI_PLANS", e.to_string()))?,
        None if production => {
            return Err(ConfigError::new(
                "KRAFTSOCI_PLANS",
                "is required in production (the development plans have no real Stripe prices)",
            ));
        }
        None => PlanTable::development(),
    };
    if production && plans.iter().all(Plan::is_free) {
        return Err(ConfigError::new(
            "KRAFTSOCI_PLANS",
            "must sell at least one plan (a plan with a price_id) in production",
        ));
    }
    let unbilled = get("KRAFTSOCI_UNBILLED_PLAN").unwrap_or_else(|| DEFAULT_UNBILLED_PLAN.into());
    let unbilled_plan: Plan = serde_json::from_str(&unbilled).map_err(|e| {
        ConfigError::new(
            "KRAFTSOCI_UNBILLED_PLAN",
            format!("is not a plan object: {e}"),
        )
    })?;
    if !unbilled_plan.is_free() {
        return Err(ConfigError::new(
            "KRAFTSOCI_UNBILLED_PLAN",
            "must not have a price_id (nothing is sold without Stripe)",
        ));
    }
    let stripe_timeout = match get("STRIPE_TIMEOUT_SECS") {
        None => DEFAULT_STRIPE_TIMEOUT_SECS,
        Some(value) => value
            .parse::<u64>()
            .ok()
            .filter(|secs| (1..=120).contains(secs))
            .ok_or_else(|| {
                ConfigError::new("STRIPE_TIMEOUT_SECS", "must be whole seconds from 1 to 120")
            })?,
    };
    Ok(BillingConfig {
        plans,
        unbilled_plan,
        stripe_timeout: Duration::from_secs(stripe_timeout),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use kraftsoci_core::ports::QuotaKind;

    use super::*;

    fn read(vars: &[(&'static str, &str)], production: bool) -> Result<BillingConfig, ConfigError> {
        let map: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        load(|name| map.get(name).cloned(), production)
    }

    #[test]
    fn development_defaults_to_the_development_plans_and_a_generous_unbilled_plan() {
        let config = read(&[], false).unwrap();
        assert_eq!(config.plans, PlanTable::development());
        assert_eq!(config.unbilled_plan.name.as_str(), "development");
        assert_eq!(config.unbilled_plan.limit(QuotaKind::Posts), 1000);
        assert_eq!(config.unbilled_plan.limit(QuotaKind::Images), 1000);
        assert_eq!(config.stripe_timeout, Duration::from_secs(20));
    }

    #[test]
    fn plans_and_the_unbilled_plan_are_read_from_json() {
        let config = read(
            &[
                (
                    "KRAFTSOCI_PLANS",
                    r#"[{"name":"basic","price_id":"price_1Qb","monthly_posts":30,"monthly_images":10}]"#,
                ),
                (
                    "KRAFTSOCI_UNBILLED_PLAN",
                    r#"{"name":"local","monthly_posts":5,"monthly_images":2}"#,
                ),
                ("STRIPE_TIMEOUT_SECS", "7"),
            ],
            true,
        )
        .unwrap();
        assert_eq!(config.plans.get("basic").unwrap().monthly_posts, 30);
        assert!(config.plans.free().is_none());
        assert_eq!(config.unbilled_plan.name.as_str(), "local");
        assert_eq!(config.stripe_timeout, Duration::from_secs(7));
    }

    #[test]
    fn production_requires_plans_that_sell_something() {
        assert_eq!(read(&[], true).unwrap_err().variable, "KRAFTSOCI_PLANS");
        let free_only = [(
            "KRAFTSOCI_PLANS",
            r#"[{"name":"free","monthly_posts":5,"monthly_images":1}]"#,
        )];
        assert_eq!(
            read(&free_only, true).unwrap_err().variable,
            "KRAFTSOCI_PLANS"
        );
        assert!(read(&free_only, false).is_ok());
    }

    #[test]
    fn malformed_billing_values_name_their_variable() {
        for (variable, value) in [
            ("KRAFTSOCI_PLANS", "[]"),
            ("KRAFTSOCI_PLANS", "not json"),
            ("KRAFTSOCI_UNBILLED_PLAN", "[]"),
            (
                "KRAFTSOCI_UNBILLED_PLAN",
                r#"{"name":"x","price_id":"price_1","monthly_posts":1,"monthly_images":1}"#,
            ),
            ("STRIPE_TIMEOUT_SECS", "0"),
            ("STRIPE_TIMEOUT_SECS", "121"),
            ("STRIPE_TIMEOUT_SECS", "fast"),
        ] {
            let err = read(&[(variable, value)], false).unwrap_err();
            assert_eq!(err.variable, variable, "{value}: {err}");
        }
    }
}
