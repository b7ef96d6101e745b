//! The store contract suite: every case runs against SQLite and against PostgreSQL.
//!
//! Each case is an `async fn(&TestDb)` in one of the modules below; `contract!` stamps a
//! `#[tokio::test]` for each engine (`sqlite::case`, `postgres::case`), each on a database of
//! its own. The PostgreSQL cases fail, not skip, when the server is unreachable.

#[path = "../support/mod.rs"]
mod support;
#[path = "../support/user_data.rs"]
mod user_data;

mod accounts;
mod auth;
mod billing;
mod columns;
mod connections;
mod fixtures;
mod posts;
mod posts_flow;
mod profiles;
mod retention;
mod rights;
mod schema;
mod usage_log;

macro_rules! contract {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::support::TestDb::sqlite().await;
                    crate::$module::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = crate::support::TestDb::postgres().await;
                    crate::$module::$case(&db).await;
                }
            )*
        }
    };
}

contract!(
    rights::every_table_and_column_holding_user_data_is_listed,
    retention::network_data_is_reduced_in_one_budget_and_receipts_stay_immutable,
    retention::completed_meta_deletion_requests_go_after_their_cutoff_and_pending_ones_never,
    retention::a_purge_leaves_an_erasure_proof_that_goes_after_its_cutoff,
    retention::a_closure_leaves_a_billing_stop_that_settles_once_and_purge_failures_are_counted,
    retention::open_requests_are_listed_earliest_due_first_and_overdue_ones_alone,
    rights::the_export_reads_every_seeded_table_and_never_a_secret,
    rights::export_pages_follow_the_key_without_gaps_or_repeats,
    rights::closing_an_account_ends_everything_at_once_and_only_once,
    rights::an_open_account_is_never_purged,
    rights::a_purge_leaves_only_detached_payment_records,
    rights::a_purge_completes_the_meta_requests_waiting_for_it,
    rights::meta_users_are_found_and_their_tokens_removed,
    rights::usage_log_purges_are_bounded_and_keep_the_cutoff_instant,
    rights::expired_auth_artifacts_are_purged_within_one_budget,
    rights::payment_records_are_purged_after_their_cutoff_paid_else_reported,
    rights::closed_accounts_are_due_oldest_closure_first,
    rights::requests_are_listed_newest_first_and_completed_once,
    rights::policy_versions_acceptances_and_notices_round_trip,
    rights::sealed_tokens_page_in_id_order_and_are_replaced_only_if_unchanged,
    billing::concurrent_reservations_never_exceed_the_limit,
    billing::reservations_commit_release_resubmit_and_expire,
    billing::a_stripe_event_is_applied_once_even_when_delivered_concurrently,
    billing::a_failure_while_applying_leaves_neither_the_event_id_nor_the_effect,
    billing::subscription_state_round_trips_and_terminal_states_are_final,
    billing::a_customer_belongs_to_one_user,
    billing::events_of_unknown_users_record_nothing_and_unreadable_ones_are_marked,
    billing::payment_records_keep_paid_final_and_outlive_the_account,
    billing::a_payment_record_whose_stored_status_is_unknown_is_refused_as_corrupt,
    billing::pending_intents_are_reused_only_for_the_same_request_in_the_window,
    accounts::an_account_round_trips_every_field,
    accounts::rectification_updates_the_mutable_fields,
    accounts::concurrent_updates_of_different_fields_are_all_kept,
    accounts::a_taken_email_is_a_conflict_named_users_email_key,
    accounts::a_closed_account_frees_its_email_and_has_no_credentials,
    accounts::unknown_accounts_are_not_found,
    auth::a_refresh_token_rotates_once_and_a_replay_revokes_its_family,
    auth::expired_unknown_and_logged_out_refresh_tokens_are_invalid,
    auth::a_password_change_bumps_the_epoch_and_keeps_only_the_current_session,
    auth::a_reset_token_works_once_before_it_expires_and_revokes_every_session,
    auth::closed_accounts_cannot_refresh,
    auth::browser_sessions_are_found_until_they_expire_and_never_rotate,
    auth::logout_password_change_and_closure_end_browser_sessions,
    auth::a_session_is_open_until_logout_replay_password_change_or_expiry,
    profiles::a_profile_is_created_replaced_and_kept_per_user,
    connections::connections_are_upserted_per_owner_and_instagram_account,
    connections::another_owners_connection_is_never_reached,
    connections::a_connection_whose_stored_status_is_unknown_is_refused_as_corrupt,
    posts::a_post_round_trips_with_its_consent_receipt,
    posts::a_stale_save_is_refused,
    posts::receipts_are_kept_as_immutable_history,
    posts::posts_list_newest_first_in_pages_filtered_by_status,
    posts::another_owners_post_is_never_reached,
    posts_flow::an_oauth_state_is_spent_once_and_only_before_it_expires,
    posts_flow::a_connection_is_saved_with_its_key_version_and_found_by_instagram_id,
    posts_flow::a_click_saves_the_post_its_receipt_and_one_job_together,
    posts_flow::a_list_page_carries_each_posts_media_connection_and_job,
    posts_flow::the_session_check_with_a_page_reads_what_each_reads_alone,
    posts_flow::unqueueing_is_refused_while_a_worker_holds_a_live_lease,
    posts_flow::the_publishing_load_counts_what_is_due_around_a_time,
    posts_flow::disconnecting_withdraws_queued_posts_and_deletes_the_token_at_once,
    posts_flow::a_sandbox_container_is_published_once,
    usage_log::usage_events_are_appended_with_and_without_a_user,
    usage_log::usage_events_are_appended_in_batches_in_order,
    schema::deleting_a_user_removes_their_rows_but_keeps_payment_records,
    schema::the_current_policy_version_is_the_latest_published,
    schema::the_database_answers_pings,
    columns::every_column_of_the_schema_is_on_the_reviewed_list,
);
