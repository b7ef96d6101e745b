//! The server's own storage ports: what no core service needs, one per table or aggregate.
//!
//! Core's ports ([`kraftsoci_core::ports`]) cover accounts, profiles, connections, posts, the
//! usage log, the publish journal, retention and billing; these cover the rest. `PgStore` and
//! `SqliteStore` implement both sets, each in a file named after the trait under `store/sql/`.

mod api_key_store;
mod auth_store;
mod billing_intent_store;
mod erasure_task_store;
mod generation_queue;
mod incident_store;
mod notify_store;
mod oauth_state_store;
mod operations_store;
mod policy_store;
mod publish_queue;
mod rights_store;
mod sandbox_store;

pub use api_key_store::{ApiKeyAccess, ApiKeyRecord, ApiKeyStore, KeyCreation, NewApiKey};
pub use auth_store::{
    AccessAccount, AccessPosts, AccessState, AuthStore, BrowserSession, Credentials, NewAccount,
    NewRefreshToken, PasswordHash, Rotation, SessionState, TokenHash,
};
pub use billing_intent_store::{
    BillingIntent, BillingIntentStore, IntentKind, IntentOutcome, NewIntent,
};
pub use erasure_task_store::{ErasureTaskStore, PendingBillingStop, PurgeFailure};
pub use generation_queue::{
    ClaimedGeneration, Created, GenerationLease, GenerationQueue, GenerationSpec, IdempotencyRecord,
};
pub use incident_store::{IncidentRecord, IncidentStore};
pub use notify_store::{
    ClaimedDelivery, DeliveryResult, NewEvent, NewWebhook, NotifyStore, PendingMail, ScheduledPost,
    SealedWebhookSecret, StoredPreferences, WebhookDelivery, WebhookEndpoint,
};
pub use oauth_state_store::{NewOAuthState, OAuthStateStore};
pub use operations_store::{OperationalCounts, OperationsStore, PoolStats};
pub use policy_store::{
    NewNotice, Notice, NoticeDelivery, PolicyAcceptance, PolicyStore, PolicyVersion, Recipient,
};
pub use publish_queue::{
    ClaimedJob, JobChange, JobId, JobLease, JobPost, PublishJobRecord, PublishQueue, Settled,
    Settlement, WaitReason,
};
pub use rights_store::{
    Closure, ClosureOutcome, ExportKey, ExportPage, MetaDeletion, MetaDeletionStatus, RightsStore,
};
pub use sandbox_store::{SandboxContainer, SandboxStatus, SandboxStore};
