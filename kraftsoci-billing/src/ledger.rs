//! An in-memory [`QuotaLedger`] for tests and single-process embedding.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{QuotaKind, QuotaLedger, QuotaReservation};
use kraftsoci_core::{Clock, StoreError, SystemClock, UserId};
use uuid::Uuid;

#[derive(Debug, Clone)]
struct Entry {
    reservation: QuotaReservation,
    committed: bool,
}

impl Entry {
    fn counts_for(&self, user: UserId, kind: QuotaKind, period: DateTime<Utc>) -> bool {
        self.reservation.user == user
            && self.reservation.kind == kind
            && self.reservation.period_start == period
    }

    fn live_at(&self, now: DateTime<Utc>) -> bool {
        self.committed || !self.reservation.hold_expired(now)
    }
}

/// A real, atomic quota ledger in memory: one mutex makes check-and-reserve a single step, so
/// concurrent reservations never exceed the limit. Counts are lost when the process ends.
pub struct InMemoryQuotaLedger {
    entries: Mutex<HashMap<Uuid, Entry>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for InMemoryQuotaLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryQuotaLedger")
            .field("entries", &self.lock().len())
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryQuotaLedger {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryQuotaLedger {
    /// An empty ledger on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty ledger whose [`QuotaLedger::used`] expires held reservations by `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Entry>> {
        // A panic while holding the lock cannot leave a half-written entry (each write is one
        // map operation), so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sum(
        entries: &HashMap<Uuid, Entry>,
        user: UserId,
        kind: QuotaKind,
        period: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> u64 {
        entries
            .values()
            .filter(|e| e.counts_for(user, kind, period) && e.live_at(now))
            .map(|e| u64::from(e.reservation.amount))
            .sum()
    }
}

#[async_trait]
impl QuotaLedger for InMemoryQuotaLedger {
    async fn try_reserve(
        &self,
        reservation: &QuotaReservation,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let mut entries = self.lock();
        if entries.contains_key(&reservation.id) {
            return Ok(true);
        }
        let now = reservation.reserved_at;
        entries.retain(|_, e| e.live_at(now));
        let used = Self::sum(
            &entries,
            reservation.user,
            reservation.kind,
            reservation.period_start,
            now,
        );
        if used + u64::from(reservation.amount) > u64::from(limit) {
            return Ok(false);
        }
        entries.insert(
            reservation.id,
            Entry {
                reservation: reservation.clone(),
                committed: false,
            },
        );
        Ok(true)
    }

    async fn commit(&self, reservation_id: Uuid) -> Result<(), StoreError> {
        match self.lock().get_mut(&reservation_id) {
            Some(entry) => {
                entry.committed = true;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn release(&self, reservation_id: Uuid) -> Result<(), StoreError> {
        let mut entries = self.lock();
        if entries.get(&reservation_id).is_some_and(|e| !e.committed) {
            entries.remove(&reservation_id);
        }
        Ok(())
    }

    async fn used(
        &self,
        user: UserId,
        kind: QuotaKind,
        period_start: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let now = self.clock.now();
        let used = Self::sum(&self.lock(), user, kind, period_start, now);
        Ok(u32::try_from(used).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use kraftsoci_core::ManualClock;

    use super::*;

    fn reservation(user: UserId, amount: u32, at: DateTime<Utc>) -> QuotaReservation {
        QuotaReservation {
            id: Uuid::new_v4(),
            user,
            kind: QuotaKind::Posts,
            amount,
            period_start: DateTime::<Utc>::UNIX_EPOCH,
            reserved_at: at,
        }
    }

    #[tokio::test]
    async fn released_units_can_be_reserved_again_and_committed_ones_cannot() {
        let ledger = InMemoryQuotaLedger::new();
        let user = UserId::new();
        let now = Utc::now();
        let a = reservation(user, 2, now);
        let b = reservation(user, 1, now);
        assert!(ledger.try_reserve(&a, 3).await.unwrap());
        assert!(ledger.try_reserve(&b, 3).await.unwrap());
        assert!(
            !ledger
                .try_reserve(&reservation(user, 1, now), 3)
                .await
                .unwrap()
        );

        ledger.release(b.id).await.unwrap();
        ledger.release(b.id).await.unwrap();
        ledger.commit(a.id).await.unwrap();
        ledger.release(a.id).await.unwrap();
        assert_eq!(
            ledger
                .used(user, QuotaKind::Posts, a.period_start)
                .await
                .unwrap(),
            2
        );
        assert_eq!(ledger.commit(b.id).await, Err(StoreError::NotFound));
        // Another user's quota is separate.
        assert!(
            ledger
                .try_reserve(&reservation(UserId::new(), 3, now), 3)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn resubmitting_a_reservation_does_not_count_it_twice() {
        let ledger = InMemoryQuotaLedger::new();
        let user = UserId::new();
        let r = reservation(user, 2, Utc::now());
        assert!(ledger.try_reserve(&r, 2).await.unwrap());
        assert!(ledger.try_reserve(&r, 2).await.unwrap());
        assert_eq!(
            ledger
                .used(user, QuotaKind::Posts, r.period_start)
                .await
                .unwrap(),
            2
        );
    }

    #[tokio::test]
    async fn an_abandoned_hold_stops_counting_after_its_ttl() {
        let start = Utc::now();
        let clock = Arc::new(ManualClock::new(start));
        let ledger = InMemoryQuotaLedger::with_clock(clock.clone());
        let user = UserId::new();
        let abandoned = reservation(user, 1, start);
        assert!(ledger.try_reserve(&abandoned, 1).await.unwrap());
        assert!(
            !ledger
                .try_reserve(&reservation(user, 1, start), 1)
                .await
                .unwrap()
        );

        clock.advance(Duration::minutes(31));
        assert_eq!(
            ledger
                .used(user, QuotaKind::Posts, abandoned.period_start)
                .await
                .unwrap(),
            0
        );
        let later = reservation(user, 1, clock.now());
        assert!(ledger.try_reserve(&later, 1).await.unwrap());
    }
}
