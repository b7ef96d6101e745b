//! P03 and the other "only" promises, column by column: every column of the schema is on a
//! reviewed list, so a migration that adds a column (a new piece of data about someone) fails
//! this test until the list, and the privacy documentation, say what it holds.

use std::collections::BTreeMap;

use crate::support::TestDb;
use crate::user_data;

/// The reviewed schema. The Instagram connection holds exactly what P03 allows: the sealed
/// token and its key version, its expiry, the Instagram user id and page name, plus the owner,
/// status and times, and the SHA-256 of the app-scoped Meta user id (`meta_user_hash`, for
/// Meta's deletion and deauthorize callbacks; disclosed in docs/privacy-conformance.md).
const REVIEWED: &[(&str, &[&str])] = &[
    (
        "billing_customers",
        &[
            "cancel_at_period_end",
            "created_at",
            "current_period_end",
            "current_period_start",
            "past_due_since",
            "plan",
            "price_id",
            "state_updated_at",
            "status",
            "stripe_customer_id",
            "subscription_id",
            "updated_at",
            "user_id",
        ],
    ),
    (
        "billing_intents",
        &[
            "completed_at",
            "created_at",
            "id",
            "idempotency_key",
            "kind",
            "request",
            "result",
            "user_id",
        ],
    ),
    (
        "billing_stops",
        &[
            "attempts",
            "last_attempt_at",
            "last_error",
            "request_id",
            "requested_at",
            "stopped_at",
            "user_id",
        ],
    ),
    (
        "consent_receipts",
        &[
            "approved_at",
            "content_hash",
            "id",
            "ip",
            "post_id",
            "scheduled_for",
            "target_ig_user_id",
            "user_agent",
            "user_id",
        ],
    ),
    (
        "data_subject_requests",
        &[
            "completed_at",
            "due_at",
            "id",
            "message",
            "post_id",
            "received_at",
            "status",
            "type",
            "user_id",
        ],
    ),
    (
        "erasure_proofs",
        &["completed_at", "email_hash", "id", "requested_at"],
    ),
    (
        "instagram_connections",
        &[
            "created_at",
            "id",
            "ig_user_id",
            "meta_user_hash",
            "owner_id",
            "page_name",
            "sealed_token",
            "status",
            "token_expires_at",
            "token_key_version",
        ],
    ),
    (
        "meta_deletion_requests",
        &[
            "app_user_hash",
            "completed_at",
            "confirmation_code",
            "created_at",
            "status",
            "user_id",
        ],
    ),
    (
        "notices",
        &[
            "body",
            "created_at",
            "id",
            "kind",
            "mailed_at",
            "read_at",
            "subject_key",
            "user_id",
        ],
    ),
    (
        "oauth_states",
        &[
            "created_at",
            "expires_at",
            "state_hash",
            "used_at",
            "user_id",
        ],
    ),
    (
        "password_reset_tokens",
        &[
            "created_at",
            "expires_at",
            "token_hash",
            "used_at",
            "user_id",
        ],
    ),
    (
        "payment_records",
        &[
            "amount",
            "amount_paid",
            "created_at",
            "currency",
            "id",
            "invoice_id",
            "paid_at",
            "period_end",
            "period_start",
            "reported_at",
            "status",
            "stripe_customer_id",
            "subscription_id",
            "user_id",
        ],
    ),
    (
        "policy_acceptances",
        &["accepted_at", "id", "ip", "user_id", "version"],
    ),
    ("policy_versions", &["published_at", "summary", "version"]),
    (
        "posts",
        &[
            "alt_text",
            "caption",
            "consent_id",
            "created_at",
            "failure_code",
            "failure_message",
            "failure_retryable",
            "hashtags",
            "id",
            "image_height",
            "image_key",
            "image_width",
            "instagram_media_id",
            "media_digests",
            "media_kind",
            "owner_id",
            "permalink",
            "published_at",
            "sandbox",
            "status",
            "target_ig_user_id",
            "topic",
            "updated_at",
        ],
    ),
    (
        "profiles",
        &[
            "description",
            "language",
            "sector",
            "target_audience",
            "tone",
            "user_id",
        ],
    ),
    (
        "publish_jobs",
        &[
            "attempts",
            "connection_id",
            "created_at",
            "id",
            "last_error",
            "lease_until",
            "locked_by",
            "owner_id",
            "post_id",
            "run_after",
            "state",
            "transient_deferrals",
            "updated_at",
            "wait_reason",
        ],
    ),
    ("publish_journal", &["post_id", "step", "updated_at"]),
    (
        "purge_failures",
        &[
            "error",
            "failures",
            "first_failed_at",
            "last_failed_at",
            "user_id",
        ],
    ),
    (
        "quota_reservations",
        &[
            "amount",
            "committed",
            "created_at",
            "id",
            "kind",
            "period_start",
            "user_id",
        ],
    ),
    (
        "refresh_tokens",
        &[
            "created_at",
            "expires_at",
            "family_id",
            "id",
            // `api` or `browser` (the web app's sign-in cookie): no personal data.
            "kind",
            "revoked_at",
            "token_hash",
            "used_at",
            "user_id",
        ],
    ),
    (
        "sandbox_containers",
        &[
            "alt_text",
            "caption",
            "created_at",
            "id",
            "ig_user_id",
            "item_count",
            "kind",
            "media_id",
            "owner_id",
            "permalink",
            "published_at",
            "status",
        ],
    ),
    // The incident register (`kraftsoci-server breach`): names no person, kept as the
    // controller's record of breaches (GDPR art. 33(5)).
    (
        "security_incidents",
        &[
            "affected",
            "detected_at",
            "dry_run",
            "id",
            "incident",
            "mails_failed",
            "mails_sent",
            "notices_created",
            "notified_at",
            "recorded_at",
            "summary",
        ],
    ),
    (
        "stripe_events",
        &["event_id", "event_type", "received_at", "unprocessable"],
    ),
    (
        "usage_log",
        &[
            "at",
            "id",
            "ip",
            "method",
            "route",
            "security",
            "status",
            "user_agent",
            "user_id",
        ],
    ),
    (
        "users",
        &[
            "accepted_policy_version",
            "business_name",
            "closed_at",
            "created_at",
            "email",
            "email_normalized",
            "id",
            "language",
            "name",
            "object_usage_log",
            "password_hash",
            "purge_after",
            "restrict_generation",
            "restrict_publishing",
            "sector",
            "theme",
            "token_epoch",
        ],
    ),
];

pub async fn every_column_of_the_schema_is_on_the_reviewed_list(db: &TestDb) {
    let mut actual: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for table in user_data::tables(db).await {
        if table == "_sqlx_migrations" {
            continue;
        }
        let mut columns = user_data::columns(db, &table).await;
        columns.sort();
        actual.insert(table, columns);
    }
    let reviewed: BTreeMap<String, Vec<String>> = REVIEWED
        .iter()
        .map(|(table, columns)| {
            let mut columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
            columns.sort();
            ((*table).to_owned(), columns)
        })
        .collect();
    if actual != reviewed {
        let mut listing = String::new();
        for (table, columns) in &actual {
            listing.push_str(&format!(
                "    (\"{table}\", &[{}]),\n",
                columns
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        panic!(
            "the schema differs from the reviewed list; review what the new columns hold, then update REVIEWED:\n{listing}"
        );
    }
}
