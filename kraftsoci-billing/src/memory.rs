//! An in-memory [`BillingStore`] for tests, examples and single-process embedding.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use kraftsoci_core::ports::{
    ApplyOutcome, BillingAccount, BillingCustomerId, BillingEffect, BillingEvent, BillingStore,
    InvoiceId, MergeOutcome, PaymentRecord,
};
use kraftsoci_core::{StoreError, UserId};
use serde::Serialize;

/// One write the store was asked to do, as recorded by [`InMemoryBillingStore::calls`]: what
/// a database would have been given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StoreCall {
    /// [`BillingStore::link_customer`].
    LinkCustomer {
        /// The user.
        user: UserId,
        /// The customer.
        customer: BillingCustomerId,
    },
    /// [`BillingStore::apply_event`].
    ApplyEvent {
        /// The event.
        event: Box<BillingEvent>,
    },
}

#[derive(Debug, Default)]
struct Inner {
    accounts: HashMap<UserId, BillingAccount>,
    owners: HashMap<BillingCustomerId, UserId>,
    events: HashSet<String>,
    unprocessable: Vec<(String, String)>,
    payments: HashMap<InvoiceId, PaymentRecord>,
    /// Users whose account was purged: the store holds nothing of theirs and accepts nothing
    /// for them but payment records, which it keeps detached (P17).
    erased: HashSet<UserId>,
    calls: Vec<StoreCall>,
}

impl Inner {
    fn owned_by_other(&self, customer: &BillingCustomerId, user: UserId) -> bool {
        self.owners
            .get(customer)
            .is_some_and(|owner| *owner != user)
    }

    fn apply(&mut self, effect: &BillingEffect) -> MergeOutcome {
        match effect {
            BillingEffect::LinkCustomer { user, customer } => {
                if self.owned_by_other(customer, *user) {
                    return MergeOutcome::Superseded;
                }
                let account = self
                    .accounts
                    .entry(*user)
                    .or_insert_with(|| BillingAccount::new(*user));
                let outcome = account.link_customer(customer);
                if outcome == MergeOutcome::Changed {
                    self.owners.insert(customer.clone(), *user);
                }
                outcome
            }
            BillingEffect::Subscription { user, snapshot } => {
                if self.owned_by_other(&snapshot.customer, *user) {
                    return MergeOutcome::Superseded;
                }
                let account = self
                    .accounts
                    .entry(*user)
                    .or_insert_with(|| BillingAccount::new(*user));
                let outcome = account.merge(snapshot);
                if let Some(customer) = &account.customer {
                    self.owners.insert(customer.clone(), *user);
                }
                outcome
            }
            BillingEffect::Unprocessable => MergeOutcome::Changed,
            BillingEffect::Payment(record) => {
                let replace = self
                    .payments
                    .get(&record.invoice_id)
                    .is_none_or(|existing| record.supersedes(existing));
                if replace {
                    self.payments
                        .insert(record.invoice_id.clone(), record.clone());
                    MergeOutcome::Changed
                } else {
                    MergeOutcome::Superseded
                }
            }
        }
    }
}

/// A [`BillingStore`] in memory: one mutex makes "record the event id and apply its effect" a
/// single atomic step, exactly as the database implementations do with a transaction.
#[derive(Debug, Default)]
pub struct InMemoryBillingStore {
    inner: Mutex<Inner>,
}

impl InMemoryBillingStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every write completes inside one critical section without panicking paths, so a
        // poisoned lock still guards consistent data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every write call so far, in order (for tests that check what would be persisted).
    pub fn calls(&self) -> Vec<StoreCall> {
        self.lock().calls.clone()
    }

    /// How many distinct event ids were recorded.
    pub fn recorded_events(&self) -> usize {
        self.lock().events.len()
    }

    /// The events recorded as unprocessable, as `(id, type)`, in order: all the store keeps
    /// of them.
    pub fn unprocessable_events(&self) -> Vec<(String, String)> {
        self.lock().unprocessable.clone()
    }

    /// Does what an account's purge does to billing state: forgets the user's account and
    /// customer, detaches their payment records (kept, P17), and from now on treats the user
    /// as unknown ([`ApplyOutcome::UnknownUser`]), as a database does once the user's row is
    /// gone. Every other user counts as known.
    pub fn erase_user(&self, user: UserId) {
        let mut inner = self.lock();
        inner.accounts.remove(&user);
        inner.owners.retain(|_, owner| *owner != user);
        inner.erased.insert(user);
    }
}

#[async_trait]
impl BillingStore for InMemoryBillingStore {
    async fn account(&self, user: UserId) -> Result<Option<BillingAccount>, StoreError> {
        Ok(self.lock().accounts.get(&user).cloned())
    }

    async fn user_for_customer(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Option<UserId>, StoreError> {
        Ok(self.lock().owners.get(customer).copied())
    }

    async fn link_customer(
        &self,
        user: UserId,
        customer: &BillingCustomerId,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.calls.push(StoreCall::LinkCustomer {
            user,
            customer: customer.clone(),
        });
        let conflict = || StoreError::Conflict {
            constraint: "billing_accounts_customer_key".into(),
        };
        if inner.erased.contains(&user) {
            return Err(StoreError::NotFound);
        }
        if inner.owned_by_other(customer, user) {
            return Err(conflict());
        }
        let account = inner
            .accounts
            .entry(user)
            .or_insert_with(|| BillingAccount::new(user));
        match &account.customer {
            Some(existing) if existing == customer => Ok(()),
            Some(_) => Err(conflict()),
            None => {
                account.customer = Some(customer.clone());
                inner.owners.insert(customer.clone(), user);
                Ok(())
            }
        }
    }

    async fn apply_event(&self, event: &BillingEvent) -> Result<ApplyOutcome, StoreError> {
        let mut inner = self.lock();
        inner.calls.push(StoreCall::ApplyEvent {
            event: Box::new(event.clone()),
        });
        let erased_user = match &event.effect {
            BillingEffect::LinkCustomer { user, .. } | BillingEffect::Subscription { user, .. } => {
                inner.erased.contains(user)
            }
            BillingEffect::Payment(_) | BillingEffect::Unprocessable => false,
        };
        if erased_user {
            return Ok(ApplyOutcome::UnknownUser);
        }
        if !inner.events.insert(event.id.clone()) {
            return Ok(ApplyOutcome::AlreadyApplied);
        }
        if event.effect == BillingEffect::Unprocessable {
            inner
                .unprocessable
                .push((event.id.clone(), event.kind.clone()));
        }
        Ok(match inner.apply(&event.effect) {
            MergeOutcome::Changed => ApplyOutcome::Applied,
            MergeOutcome::Superseded => ApplyOutcome::Superseded,
        })
    }

    async fn payment_records(&self, user: UserId) -> Result<Vec<PaymentRecord>, StoreError> {
        let inner = self.lock();
        if inner.erased.contains(&user) {
            // Kept, but no longer anyone's.
            return Ok(Vec::new());
        }
        let mut records: Vec<PaymentRecord> = inner
            .payments
            .values()
            .filter(|r| r.user == user)
            .cloned()
            .collect();
        drop(inner);
        records.sort_by(|a, b| {
            (a.as_of, a.invoice_id.as_str()).cmp(&(b.as_of, b.invoice_id.as_str()))
        });
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_customer_belongs_to_one_user_and_a_user_has_one_customer() {
        let store = InMemoryBillingStore::new();
        let (alice, bob) = (UserId::new(), UserId::new());
        let cus_a = BillingCustomerId::parse("cus_a").unwrap();
        let cus_b = BillingCustomerId::parse("cus_b").unwrap();
        store.link_customer(alice, &cus_a).await.unwrap();
        store.link_customer(alice, &cus_a).await.unwrap();
        assert!(matches!(
            store.link_customer(bob, &cus_a).await,
            Err(StoreError::Conflict { .. })
        ));
        assert!(matches!(
            store.link_customer(alice, &cus_b).await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(store.user_for_customer(&cus_a).await.unwrap(), Some(alice));
        assert_eq!(store.user_for_customer(&cus_b).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_erased_user_is_unknown_and_nothing_recreates_their_account() {
        let store = InMemoryBillingStore::new();
        let user = UserId::new();
        let customer = BillingCustomerId::parse("cus_gone").unwrap();
        store.link_customer(user, &customer).await.unwrap();
        store.erase_user(user);
        assert_eq!(store.account(user).await.unwrap(), None);
        assert_eq!(store.user_for_customer(&customer).await.unwrap(), None);
        let event = BillingEvent {
            id: "evt_late".into(),
            kind: "checkout.session.completed".into(),
            created: chrono::Utc::now(),
            effect: BillingEffect::LinkCustomer {
                user,
                customer: customer.clone(),
            },
        };
        assert_eq!(
            store.apply_event(&event).await.unwrap(),
            ApplyOutcome::UnknownUser
        );
        assert_eq!(store.recorded_events(), 0);
        assert_eq!(store.account(user).await.unwrap(), None);
        assert_eq!(
            store.link_customer(user, &customer).await,
            Err(StoreError::NotFound)
        );
    }
}
