//! Payment records (P17): what was billed and whether it was paid, never a card detail (P05,
//! P13).

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

use super::{BillingCustomerId, InvoiceId, SubscriptionId};
use crate::{ParseError, UserId};

/// How long payment records are kept, also after the account is closed (P17).
pub const PAYMENT_RECORD_RETENTION_YEARS: u32 = 10;

/// Whether an invoice was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentStatus {
    /// Paid (final for the invoice).
    Paid,
    /// A payment attempt failed; the invoice may still be paid later.
    Failed,
}

impl PaymentStatus {
    /// Every status, for exhaustive tests and documentation.
    pub const ALL: [PaymentStatus; 2] = [Self::Paid, Self::Failed];

    /// The stable name used in storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Failed => "failed",
        }
    }

    /// Parses [`PaymentStatus::as_str`]'s output; a store refuses a row whose status this
    /// version does not know with this error instead of guessing.
    ///
    /// ```
    /// use kraftsoci_core::billing::PaymentStatus;
    ///
    /// assert_eq!("paid".parse(), Ok(PaymentStatus::Paid));
    /// assert!(PaymentStatus::parse("refunded").is_err());
    /// ```
    ///
    /// # Errors
    /// [`ParseError`] on field `status` for a name that is not one of [`Self::ALL`].
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| ParseError::new("status", "unknown payment status"))
    }
}

impl std::fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PaymentStatus {
    type Err = ParseError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

/// A payment record (P17): what was billed and whether it was paid. There is deliberately no
/// field for anything about the card or the payer (P05, P13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// The invoice (one record per invoice).
    pub invoice_id: InvoiceId,
    /// Whose payment.
    pub user: UserId,
    /// The provider customer.
    pub customer: BillingCustomerId,
    /// The subscription billed, when any.
    pub subscription_id: Option<SubscriptionId>,
    /// Paid or failed.
    pub status: PaymentStatus,
    /// Amount due, in the currency's minor unit.
    pub amount_due: i64,
    /// Amount paid, in the currency's minor unit.
    pub amount_paid: i64,
    /// ISO 4217 currency code, lowercase (`eur`).
    pub currency: String,
    /// Start of the period billed.
    pub period_start: Option<DateTime<Utc>>,
    /// End of the period billed.
    pub period_end: Option<DateTime<Utc>>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// When the provider reported this state (the event's `created`).
    pub as_of: DateTime<Utc>,
}

impl PaymentRecord {
    /// Whether this record should replace `existing` (same invoice): `paid` is final, otherwise
    /// the newer report wins.
    pub fn supersedes(&self, existing: &PaymentRecord) -> bool {
        if self == existing {
            return false;
        }
        match (existing.status, self.status) {
            (PaymentStatus::Paid, PaymentStatus::Failed) => false,
            (PaymentStatus::Failed, PaymentStatus::Paid) => true,
            _ => self.as_of >= existing.as_of,
        }
    }

    /// The earliest time the record may be deleted (P17).
    pub fn retain_until(&self) -> DateTime<Utc> {
        let recorded = self.paid_at.unwrap_or(self.as_of);
        recorded
            .checked_add_months(Months::new(PAYMENT_RECORD_RETENTION_YEARS * 12))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_parses_back_from_its_stored_name_and_matches_serde() {
        for status in PaymentStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(status.as_str())
            );
        }
    }

    #[test]
    fn an_unknown_stored_status_is_a_parse_error_that_does_not_echo_it() {
        let error = PaymentStatus::parse("refunded").unwrap_err();
        assert_eq!(error.field(), "status");
        assert!(!error.to_string().contains("refunded"));
    }
}
