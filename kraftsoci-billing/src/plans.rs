//! Plans: a name, the provider price that sells it, and the monthly quotas it grants.

use std::fmt;

use kraftsoci_core::ports::{PriceId, QuotaKind};
use serde::{Deserialize, Serialize};

use crate::BillingError;

/// A plan's name: 1 to 32 lowercase ASCII letters, digits, `-` or `_` (`starter`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanName(String);

impl PlanName {
    /// Parses a plan name.
    ///
    /// # Errors
    /// [`BillingError::UnknownPlan`] when the value cannot be a plan name.
    pub fn parse(value: impl Into<String>) -> Result<Self, BillingError> {
        let value = value.into();
        let ok = !value.is_empty()
            && value.len() <= 32
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(value))
        } else {
            Err(BillingError::UnknownPlan(value.chars().take(32).collect()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlanName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PlanName {
    type Error = BillingError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<PlanName> for String {
    fn from(value: PlanName) -> Self {
        value.0
    }
}

/// One plan. More fields (quota kinds) may come: build one with [`Plan::new`].
///
/// ```
/// use kraftsoci_billing::{Plan, PlanName, PlanTable, PriceId};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let plans = PlanTable::new(vec![
///     Plan::new(PlanName::parse("free")?, 5, 3),
///     Plan::new(PlanName::parse("starter")?, 60, 30).with_price(PriceId::parse("price_1Q")?),
/// ])?;
/// assert!(plans.get("free").is_some_and(Plan::is_free));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Plan {
    /// The plan's name, as the API and the UI use it.
    pub name: PlanName,
    /// The provider price that sells it; `None` for the free plan, which is never bought.
    #[serde(default)]
    pub price_id: Option<PriceId>,
    /// Generated posts per billing period.
    pub monthly_posts: u32,
    /// Generated images per billing period.
    pub monthly_images: u32,
}

impl Plan {
    /// A free plan (no price) with these monthly quotas; sell it with [`Plan::with_price`].
    pub fn new(name: PlanName, monthly_posts: u32, monthly_images: u32) -> Self {
        Self {
            name,
            price_id: None,
            monthly_posts,
            monthly_images,
        }
    }

    /// The same plan, sold at `price`.
    pub fn with_price(mut self, price: PriceId) -> Self {
        self.price_id = Some(price);
        self
    }

    /// The plan's limit for `kind`.
    pub fn limit(&self, kind: QuotaKind) -> u32 {
        match kind {
            QuotaKind::Posts => self.monthly_posts,
            QuotaKind::Images => self.monthly_images,
            // A quota a later core adds: no plan of this version grants any of it.
            _ => 0,
        }
    }

    /// Whether the plan is the free plan (no price).
    pub fn is_free(&self) -> bool {
        self.price_id.is_none()
    }
}

/// The configured plans.
///
/// At most one plan has no price: the free plan, which applies to everyone whose subscription
/// (if any) grants no access. Without a free plan, such users can generate nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PlanTable {
    plans: Vec<Plan>,
}

impl PlanTable {
    /// Checks and wraps a list of plans.
    ///
    /// # Errors
    /// [`BillingError::InvalidPlans`] when the list is empty, a name or a price appears twice,
    /// or more than one plan is free.
    pub fn new(plans: Vec<Plan>) -> Result<Self, BillingError> {
        if plans.is_empty() {
            return Err(BillingError::InvalidPlans("no plan is defined".into()));
        }
        for (i, plan) in plans.iter().enumerate() {
            let rest = &plans[i + 1..];
            if rest.iter().any(|p| p.name == plan.name) {
                return Err(BillingError::InvalidPlans(format!(
                    "plan `{}` is defined twice",
                    plan.name
                )));
            }
            if plan.price_id.is_some() && rest.iter().any(|p| p.price_id == plan.price_id) {
                return Err(BillingError::InvalidPlans(format!(
                    "plan `{}` shares its price with another plan",
                    plan.name
                )));
            }
        }
        if plans.iter().filter(|p| p.is_free()).count() > 1 {
            return Err(BillingError::InvalidPlans(
                "at most one plan may be free (without a price)".into(),
            ));
        }
        Ok(Self { plans })
    }

    /// Reads plans from JSON, e.g. the server's `KRAFTSOCI_PLANS` variable:
    ///
    /// ```json
    /// [{"name": "free", "monthly_posts": 5, "monthly_images": 3},
    ///  {"name": "starter", "price_id": "price_1Q…", "monthly_posts": 60, "monthly_images": 30}]
    /// ```
    ///
    /// # Errors
    /// [`BillingError::InvalidPlans`] when the JSON does not have this shape or
    /// [`PlanTable::new`] refuses the plans.
    pub fn from_json(json: &str) -> Result<Self, BillingError> {
        let plans: Vec<Plan> = serde_json::from_str(json)
            .map_err(|err| BillingError::InvalidPlans(format!("not a list of plans: {err}")))?;
        Self::new(plans)
    }

    /// Plans for development and the sandbox: `free` (10 posts, 5 images), `starter`
    /// (`price_dev_starter`: 60 posts, 30 images) and `pro` (`price_dev_pro`: 300 posts,
    /// 150 images). The price ids exist in no Stripe account; production reads real ones with
    /// [`PlanTable::from_json`].
    pub fn development() -> Self {
        let plan = |name: &str, price: Option<&str>, posts, images| Plan {
            // Literal, valid names and ids: parsing cannot fail.
            name: PlanName(name.to_owned()),
            price_id: price.and_then(|p| PriceId::parse(p).ok()),
            monthly_posts: posts,
            monthly_images: images,
        };
        Self {
            plans: vec![
                plan("free", None, 10, 5),
                plan("starter", Some("price_dev_starter"), 60, 30),
                plan("pro", Some("price_dev_pro"), 300, 150),
            ],
        }
    }

    /// The plan with this name.
    pub fn get(&self, name: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.name.as_str() == name)
    }

    /// The plan sold at this price.
    pub fn by_price(&self, price: &PriceId) -> Option<&Plan> {
        self.plans
            .iter()
            .find(|p| p.price_id.as_ref() == Some(price))
    }

    /// The free plan, when one is configured.
    pub fn free(&self) -> Option<&Plan> {
        self.plans.iter().find(|p| p.is_free())
    }

    /// Every plan, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = &Plan> {
        self.plans.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parse_from_json() {
        let table = PlanTable::from_json(
            r#"[{"name":"free","monthly_posts":5,"monthly_images":3},
                {"name":"starter","price_id":"price_123","monthly_posts":60,"monthly_images":30}]"#,
        )
        .unwrap();
        assert_eq!(table.free().unwrap().limit(QuotaKind::Images), 3);
        let starter = table
            .by_price(&PriceId::parse("price_123").unwrap())
            .unwrap();
        assert_eq!(starter.name.as_str(), "starter");
        assert_eq!(table.get("starter").unwrap().limit(QuotaKind::Posts), 60);
        assert!(table.get("gold").is_none());
    }

    #[test]
    fn bad_plan_configurations_are_refused() {
        let cases = [
            "[]",
            "{}",
            r#"[{"name":"a","monthly_posts":1}]"#,
            r#"[{"name":"Big Plan","monthly_posts":1,"monthly_images":1}]"#,
            r#"[{"name":"a","monthly_posts":1,"monthly_images":1,"card":"x"}]"#,
            r#"[{"name":"a","monthly_posts":1,"monthly_images":1},
                {"name":"a","price_id":"price_1","monthly_posts":1,"monthly_images":1}]"#,
            r#"[{"name":"a","price_id":"price_1","monthly_posts":1,"monthly_images":1},
                {"name":"b","price_id":"price_1","monthly_posts":1,"monthly_images":1}]"#,
            r#"[{"name":"a","monthly_posts":1,"monthly_images":1},
                {"name":"b","monthly_posts":1,"monthly_images":1}]"#,
        ];
        for json in cases {
            assert!(
                matches!(
                    PlanTable::from_json(json),
                    Err(BillingError::InvalidPlans(_))
                ),
                "{json} should be refused"
            );
        }
    }

    #[test]
    fn the_development_plans_are_valid() {
        let dev = PlanTable::development();
        assert_eq!(PlanTable::new(dev.plans.clone()).unwrap(), dev);
        assert!(dev.free().is_some());
        assert_eq!(dev.iter().filter(|p| !p.is_free()).count(), 2);
    }
}
