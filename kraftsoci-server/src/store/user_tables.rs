//! Every table that holds a user's data, and for each one how to find that user's rows, what
//! the export shows of them (P26, P30) and what erasure does with them (P19, P28).
//!
//! This list drives both the export (`GET /v1/me/export`) and the account purge, so one entry
//! makes a new table exported and purged. Two tests keep it complete: one enumerates the
//! database's tables and fails on a table that is neither here nor in [`NON_USER_TABLES`];
//! the other enumerates each listed table's columns and fails on a column that is neither
//! exported nor deliberately withheld.
//!
//! ## Adding a table
//! Add a [`UserTable`] to [`USER_TABLES`] (export order; the purge runs the list backwards, so
//! put a table after the tables it references): how to select the user's rows (`owner`, with
//! the user id as `$1`), a unique column to page by (`key`), the exported `columns` with
//! their kinds, the `withheld` columns (secrets such as hashes and sealed tokens, or pure
//! bookkeeping) and the `erasure`.

use self::ColumnKind::{Boolean, Id, Integer, Json, Text, Time};

/// How a column is read from either engine and written into the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A UUID, exported as its string.
    Id,
    /// Text.
    Text,
    /// A timestamp, exported as RFC 3339 UTC.
    Time,
    /// An integer.
    Integer,
    /// A boolean.
    Boolean,
    /// Text holding JSON, exported as the JSON value it holds.
    Json,
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// How it is read.
    pub kind: ColumnKind,
}

const fn col(name: &'static str, kind: ColumnKind) -> Column {
    Column { name, kind }
}

/// What erasing an account does with a table's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// The rows are deleted.
    Delete,
    /// The rows are kept and this statement (user id as `$1`) removes their link to the user:
    /// payment records outlive the account for 10 years (P17).
    Detach(&'static str),
}

/// A table holding user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserTable {
    /// The table's name; also its section name in the export.
    pub name: &'static str,
    /// A SQL condition selecting the user's rows, the user id bound as `$1`.
    pub owner: &'static str,
    /// A unique column that orders the rows for paging; it need not be exported.
    pub key: Column,
    /// The columns the export shows.
    pub columns: &'static [Column],
    /// The columns never read by the export: secrets (password and token hashes, sealed
    /// tokens, idempotency keys) and internal bookkeeping.
    pub withheld: &'static [&'static str],
    /// What erasure does with the rows.
    pub erasure: Erasure,
}

impl UserTable {
    /// The table with this name, if it is listed.
    pub fn named(name: &str) -> Option<&'static UserTable> {
        USER_TABLES.iter().find(|table| table.name == name)
    }

    /// The SQL reading one page of the user's rows: the key as `export_key`, then the
    /// exported columns in order. `$1` is the user, `$2` the key of the previous page's last
    /// row (only when `after` is set), and the last parameter the page size.
    pub(crate) fn page_sql(&self, after: bool) -> String {
        let mut select = vec![expression(self.key, "export_key")];
        select.extend(self.columns.iter().map(|c| expression(*c, c.name)));
        let (range, limit) = if after {
            (format!(" AND {} > $2", self.key.name), "$3")
        } else {
            (String::new(), "$2")
        };
        format!(
            "SELECT {} FROM {} WHERE ({}){range} ORDER BY {} LIMIT {limit}",
            select.join(", "),
            self.name,
            self.owner,
            self.key.name,
        )
    }
}

/// Integers are cast so that both engines hand back a 64-bit value (PostgreSQL's `INTEGER` is
/// 32 bits and sqlx decodes types strictly).
fn expression(column: Column, alias: &str) -> String {
    match column.kind {
        ColumnKind::Integer => format!("CAST({} AS BIGINT) AS {alias}", column.name),
        _ => format!("{} AS {alias}", column.name),
    }
}

/// The tables that hold no user data linked to an account: the migration ledger, Stripe's
/// event ids (applied-once bookkeeping without personal data), the published policy texts and
/// the erasure proofs (a domain-separated hash of an erased address and two dates, linked to
/// no row: it outlives the account on purpose, P28, and is swept after three years) and the
/// incident register (`security_incidents`: what happened and how many accounts, naming no
/// one; the controller's record of breaches).
pub const NON_USER_TABLES: &[&str] = &[
    "_sqlx_migrations",
    "stripe_events",
    "policy_versions",
    "erasure_proofs",
    "security_incidents",
];

/// Every table holding user data, in export order (the purge runs it backwards, so the
/// account row goes last).
pub const USER_TABLES: &[UserTable] = &[
    UserTable {
        name: "users",
        owner: "id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("name", Text),
            col("email", Text),
            col("business_name", Text),
            col("sector", Text),
            col("language", Text),
            col("theme", Text),
            col("restrict_generation", Boolean),
            col("restrict_publishing", Boolean),
            col("object_usage_log", Boolean),
            col("accepted_policy_version", Text),
            col("created_at", Time),
            col("closed_at", Time),
            col("purge_after", Time),
        ],
        // The bcrypt hash is a secret; the normalized email is a lower-cased copy of `email`;
        // the token epoch is a session counter.
        withheld: &["password_hash", "email_normalized", "token_epoch"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "profiles",
        owner: "user_id = $1",
        key: col("user_id", Id),
        columns: &[
            col("user_id", Id),
            col("description", Text),
            col("target_audience", Text),
            col("tone", Text),
            col("sector", Text),
            col("language", Text),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "instagram_connections",
        owner: "owner_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("owner_id", Id),
            col("ig_user_id", Text),
            col("page_name", Text),
            col("status", Text),
            col("token_expires_at", Time),
            col("created_at", Time),
            col("meta_user_hash", Text),
        ],
        // Tokens never leave the server (P10).
        withheld: &["sealed_token", "token_key_version"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "posts",
        owner: "owner_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("owner_id", Id),
            col("topic", Text),
            col("caption", Text),
            col("hashtags", Json),
            col("alt_text", Text),
            col("media_kind", Text),
            col("media_digests", Json),
            col("image_key", Text),
            col("image_width", Integer),
            col("image_height", Integer),
            col("target_ig_user_id", Text),
            col("status", Text),
            col("consent_id", Id),
            col("sandbox", Boolean),
            col("created_at", Time),
            col("updated_at", Time),
            col("published_at", Time),
            col("instagram_media_id", Text),
            col("permalink", Text),
            col("failure_code", Text),
            col("failure_message", Text),
            col("failure_retryable", Boolean),
            col("generation_step", Text),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "generation_jobs",
        owner: "owner_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("post_id", Id),
            col("owner_id", Id),
            col("topic", Text),
            col("caption", Boolean),
            col("image", Boolean),
            col("state", Text),
            col("attempts", Integer),
            col("run_after", Time),
            col("last_error", Text),
            col("created_at", Time),
            col("updated_at", Time),
        ],
        // Which worker holds the job, until when, and the quota reservations it will commit
        // or release: queue bookkeeping.
        withheld: &["locked_by", "lease_until", "reservations"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "idempotency_keys",
        owner: "owner_id = $1",
        key: col("key", Text),
        columns: &[
            col("owner_id", Id),
            col("post_id", Id),
            col("created_at", Time),
        ],
        // The key is the client's own retry token and the hash only tells one request body
        // from another: bookkeeping, kept at most 24 hours.
        withheld: &["key", "request_hash"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "consent_receipts",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("user_id", Id),
            col("post_id", Id),
            col("content_hash", Text),
            col("target_ig_user_id", Text),
            col("approved_at", Time),
            col("ip", Text),
            col("user_agent", Text),
            col("scheduled_for", Time),
            col("api_key_id", Id),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "publish_jobs",
        owner: "owner_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("post_id", Id),
            col("owner_id", Id),
            col("connection_id", Id),
            col("run_after", Time),
            col("attempts", Integer),
            col("transient_deferrals", Integer),
            col("state", Text),
            col("wait_reason", Text),
            col("last_error", Text),
            col("created_at", Time),
            col("updated_at", Time),
        ],
        // Which worker holds the job, and until when: queue bookkeeping.
        withheld: &["locked_by", "lease_until"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "publish_journal",
        owner: "post_id IN (SELECT id FROM posts WHERE owner_id = $1)",
        key: col("post_id", Id),
        columns: &[
            col("post_id", Id),
            col("step", Json),
            col("updated_at", Time),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "sandbox_containers",
        owner: "owner_id = $1",
        key: col("id", Text),
        columns: &[
            col("id", Text),
            col("ig_user_id", Text),
            col("owner_id", Id),
            col("kind", Text),
            col("caption", Text),
            col("alt_text", Text),
            col("item_count", Integer),
            col("status", Text),
            col("media_id", Text),
            col("permalink", Text),
            col("created_at", Time),
            col("published_at", Time),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "quota_reservations",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("user_id", Id),
            col("kind", Text),
            col("amount", Integer),
            col("period_start", Time),
            col("committed", Boolean),
            col("created_at", Time),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "billing_customers",
        owner: "user_id = $1",
        key: col("user_id", Id),
        columns: &[
            col("user_id", Id),
            col("stripe_customer_id", Text),
            col("plan", Text),
            col("subscription_id", Text),
            col("status", Text),
            col("current_period_start", Time),
            col("current_period_end", Time),
            col("past_due_since", Time),
            col("state_updated_at", Time),
            col("created_at", Time),
            col("updated_at", Time),
            col("price_id", Text),
            col("cancel_at_period_end", Boolean),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "billing_intents",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("user_id", Id),
            col("kind", Text),
            col("request", Json),
            col("created_at", Time),
            col("completed_at", Time),
        ],
        // The idempotency key is a credential towards Stripe; the result holds live Checkout
        // and portal session URLs.
        withheld: &["idempotency_key", "result"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "payment_records",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("invoice_id", Text),
            col("user_id", Id),
            col("stripe_customer_id", Text),
            col("amount", Integer),
            col("amount_paid", Integer),
            col("currency", Text),
            col("status", Text),
            col("subscription_id", Text),
            col("period_start", Time),
            col("period_end", Time),
            col("paid_at", Time),
            col("reported_at", Time),
            col("created_at", Time),
        ],
        withheld: &[],
        erasure: Erasure::Detach("UPDATE payment_records SET user_id = NULL WHERE user_id = $1"),
    },
    UserTable {
        name: "usage_log",
        owner: "user_id = $1",
        key: col("id", Integer),
        columns: &[
            col("id", Integer),
            col("user_id", Id),
            col("method", Text),
            col("route", Text),
            col("status", Integer),
            col("ip", Text),
            col("user_agent", Text),
            col("security", Boolean),
            col("at", Time),
            col("api_key_id", Id),
            col("channel", Text),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "data_subject_requests",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("user_id", Id),
            col("type", Text),
            col("received_at", Time),
            col("due_at", Time),
            col("status", Text),
            col("completed_at", Time),
            col("post_id", Id),
            col("message", Text),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "meta_deletion_requests",
        owner: "user_id = $1 OR app_user_hash IN \
                (SELECT meta_user_hash FROM instagram_connections WHERE owner_id = $1)",
        key: col("confirmation_code", Text),
        columns: &[
            col("confirmation_code", Text),
            col("app_user_hash", Text),
            col("user_id", Id),
            col("status", Text),
            col("created_at", Time),
            col("completed_at", Time),
        ],
        withheld: &[],
        // Kept without the user, so that Meta's status page keeps answering (P34).
        erasure: Erasure::Detach(
            "UPDATE meta_deletion_requests SET user_id = NULL WHERE user_id = $1",
        ),
    },
    UserTable {
        name: "policy_acceptances",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("user_id", Id),
            col("version", Text),
            col("accepted_at", Time),
            col("ip", Text),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "notices",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("user_id", Id),
            col("kind", Text),
            col("subject_key", Text),
            col("body", Text),
            col("created_at", Time),
            col("read_at", Time),
            col("mailed_at", Time),
            col("link", Text),
            col("params", Json),
            col("in_app", Boolean),
            col("mail_attempts", Integer),
        ],
        // The mail outbox's due time or lease.
        withheld: &["mail_next_at"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "notification_preferences",
        owner: "user_id = $1",
        key: col("user_id", Id),
        columns: &[
            col("user_id", Id),
            col("time_zone", Text),
            col("channels", Json),
            col("updated_at", Time),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "webhook_endpoints",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("user_id", Id),
            col("url", Text),
            col("events", Text),
            col("created_at", Time),
        ],
        // The signing secret, sealed with the token vault.
        withheld: &["sealed_secret"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "webhook_deliveries",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("endpoint_id", Id),
            col("user_id", Id),
            col("event_key", Text),
            col("event", Text),
            col("payload", Json),
            col("status", Text),
            col("attempts", Integer),
            col("last_status", Integer),
            col("last_error", Text),
            col("created_at", Time),
            col("completed_at", Time),
        ],
        // The retry schedule's bookkeeping.
        withheld: &["next_attempt_at", "window_start"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "refresh_tokens",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("family_id", Id),
            col("user_id", Id),
            col("created_at", Time),
            col("expires_at", Time),
            col("used_at", Time),
            col("revoked_at", Time),
            col("kind", Text),
        ],
        withheld: &["token_hash"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "api_keys",
        owner: "user_id = $1",
        key: col("id", Id),
        columns: &[
            col("id", Id),
            col("user_id", Id),
            col("name", Text),
            col("prefix", Text),
            col("scopes", Text),
            col("created_at", Time),
            col("last_used_at", Time),
        ],
        // The key's SHA-256: not the key, but never shown (the export is not a place for
        // credentials, P26).
        withheld: &["key_hash"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "password_reset_tokens",
        owner: "user_id = $1",
        key: col("token_hash", Text),
        columns: &[
            col("user_id", Id),
            col("created_at", Time),
            col("expires_at", Time),
            col("used_at", Time),
        ],
        withheld: &["token_hash"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "oauth_states",
        owner: "user_id = $1",
        key: col("state_hash", Text),
        columns: &[
            col("user_id", Id),
            col("created_at", Time),
            col("expires_at", Time),
            col("used_at", Time),
        ],
        withheld: &["state_hash"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "billing_stops",
        owner: "user_id = $1",
        key: col("user_id", Id),
        columns: &[
            col("user_id", Id),
            col("requested_at", Time),
            col("attempts", Integer),
            col("last_attempt_at", Time),
            col("last_error", Text),
            col("stopped_at", Time),
        ],
        // The erasure request's id (already exported with the requests) keys the cancels.
        withheld: &["request_id"],
        erasure: Erasure::Delete,
    },
    UserTable {
        name: "purge_failures",
        owner: "user_id = $1",
        key: col("user_id", Id),
        columns: &[
            col("user_id", Id),
            col("first_failed_at", Time),
            col("last_failed_at", Time),
            col("failures", Integer),
            col("error", Text),
        ],
        withheld: &[],
        erasure: Erasure::Delete,
    },
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_table_is_listed_once_and_never_also_as_holding_no_user_data() {
        let mut seen = HashSet::new();
        for table in USER_TABLES {
            assert!(seen.insert(table.name), "{} is listed twice", table.name);
            assert!(!NON_USER_TABLES.contains(&table.name), "{}", table.name);
        }
    }

    #[test]
    fn no_column_is_both_exported_and_withheld() {
        for table in USER_TABLES {
            for column in table.columns {
                assert!(
                    !table.withheld.contains(&column.name),
                    "{}.{} is exported and withheld",
                    table.name,
                    column.name
                );
            }
        }
    }

    #[test]
    fn secrets_are_withheld_from_the_export() {
        let exported = |table: &str, column: &str| {
            UserTable::named(table)
                .unwrap()
                .columns
                .iter()
                .any(|c| c.name == column)
        };
        for (table, column) in [
            ("users", "password_hash"),
            ("instagram_connections", "sealed_token"),
            ("refresh_tokens", "token_hash"),
            ("api_keys", "key_hash"),
            ("password_reset_tokens", "token_hash"),
            ("oauth_states", "state_hash"),
            ("billing_intents", "idempotency_key"),
        ] {
            assert!(!exported(table, column), "{table}.{column}");
        }
    }

    #[test]
    fn the_account_row_is_purged_last_and_payment_records_are_only_detached() {
        assert_eq!(USER_TABLES.first().map(|t| t.name), Some("users"));
        let payments = UserTable::named("payment_records").unwrap();
        assert!(matches!(payments.erasure, Erasure::Detach(_)));
    }

    #[test]
    fn a_page_query_selects_the_key_then_the_columns_after_the_previous_page() {
        let table = UserTable::named("usage_log").unwrap();
        let first = table.page_sql(false);
        assert!(
            first.starts_with("SELECT CAST(id AS BIGINT) AS export_key, "),
            "{first}"
        );
        assert!(
            first.ends_with("WHERE (user_id = $1) ORDER BY id LIMIT $2"),
            "{first}"
        );
        let next = table.page_sql(true);
        assert!(
            next.ends_with("WHERE (user_id = $1) AND id > $2 ORDER BY id LIMIT $3"),
            "{next}"
        );
    }
}
