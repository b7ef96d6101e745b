//! The quota events: [`NotifyingEntitlements`] wraps the entitlements the post flow reserves
//! through and, after each reservation, tells the owner once per period when 80 % and then
//! 100 % of the plan's allowance are spent.

use std::sync::Arc;

use async_trait::async_trait;
use kraftsoci_core::UserId;
use kraftsoci_core::billing::{EntitlementError, QuotaKind, QuotaReservation};
use kraftsoci_core::ports::Entitlements;

use super::{Event, Notifier};
use crate::billing::Billing;

/// Entitlements that raise `quota_80` and `quota_100` after a reservation reaches them.
pub struct NotifyingEntitlements {
    inner: Arc<dyn Entitlements>,
    billing: Arc<Billing>,
    notifier: Notifier,
}

impl NotifyingEntitlements {
    /// Wraps `inner`; usage and limits are read from `billing`'s overview.
    pub fn wrap(
        inner: Arc<dyn Entitlements>,
        billing: Arc<Billing>,
        notifier: Notifier,
    ) -> Arc<dyn Entitlements> {
        Arc::new(Self {
            inner,
            billing,
            notifier,
        })
    }

    async fn announce(&self, reservation: &QuotaReservation) {
        let overview = match self.billing.overview(reservation.user).await {
            Ok(overview) => overview,
            Err(error) => {
                tracing::warn!(user = %reservation.user, %error, "quota level not checked");
                return;
            }
        };
        let (used, limit) = match reservation.kind {
            QuotaKind::Posts => (overview.usage.posts_used, overview.usage.posts_limit),
            QuotaKind::Images => (overview.usage.images_used, overview.usage.images_limit),
            // A kind this server does not know (QuotaKind is non_exhaustive) has no level to announce.
            _ => return,
        };
        if let Some(event) = Event::quota(
            reservation.user,
            reservation.kind,
            used,
            limit,
            reservation.period_start,
        ) {
            self.notifier.record_logged(&event).await;
        }
    }
}

#[async_trait]
impl Entitlements for NotifyingEntitlements {
    async fn reserve(
        &self,
        user: UserId,
        kind: QuotaKind,
        amount: u32,
    ) -> Result<QuotaReservation, EntitlementError> {
        let reservation = self.inner.reserve(user, kind, amount).await?;
        self.announce(&reservation).await;
        Ok(reservation)
    }

    async fn commit(&self, reservation: &QuotaReservation) -> Result<(), EntitlementError> {
        self.inner.commit(reservation).await
    }

    async fn release(&self, reservation: &QuotaReservation) -> Result<(), EntitlementError> {
        self.inner.release(reservation).await
    }
}
