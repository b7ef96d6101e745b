//! The policy's back-off and the reasoning behind its defaults, and the journal's stored form.

use super::*;

#[test]
fn backoff_is_capped_and_jittered() {
    let policy = PublishPolicy::default();
    for attempt in 0..40 {
        let d = policy.backoff(attempt);
        assert!(d <= policy.max_backoff);
        assert!(d >= Duration::from_millis(10));
    }
}

#[test]
fn spaced_backoff_never_drops_below_half_of_its_ceiling() {
    let policy = PublishPolicy::default();
    for attempt in 0..40 {
        let d = policy.spaced_backoff(attempt);
        let ceiling = policy
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(policy.max_backoff);
        assert!(d <= ceiling, "{attempt}: {d:?}");
        assert!(d >= ceiling / 2, "{attempt}: {d:?}");
    }
}

#[test]
fn the_default_grace_outlasts_metas_two_minute_delayed_error_and_the_publish_timeout() {
    let policy = PublishPolicy::default();
    let metas_delay = Duration::from_secs(120);
    let publish_timeout = Duration::from_secs(120);
    assert!(policy.reconcile_grace >= metas_delay + Duration::from_secs(120));
    assert!(policy.reconcile_grace > publish_timeout);
    // A post is looked up for longer than a grace, so a late listing still finds it.
    assert!(policy.media_lookup_for > policy.reconcile_grace);
}

#[test]
fn a_publish_sent_step_written_before_sends_were_counted_still_reads() {
    let stored = r#"{"approved_at":"2026-05-01T09:00:00Z","step":{"step":"publish_sent","container":"c1","at":"2026-05-01T09:01:00Z"}}"#;
    let entry: JournalEntry = serde_json::from_str(stored).unwrap();
    assert_eq!(
        entry.step,
        PublishStep::PublishSent {
            container: ContainerId::new("c1"),
            at: t0() + chrono::Duration::minutes(1),
            sends: 1,
            first_at: None,
            refused: None,
        }
    );
    let published = r#"{"step":"published","container":"c1","media_id":null,"permalink":null,"at":"2026-05-01T09:01:00Z"}"#;
    let step: PublishStep = serde_json::from_str(published).unwrap();
    assert!(matches!(step, PublishStep::Published { since: None, .. }));
}

#[test]
fn a_publish_sent_step_round_trips_with_its_send_count_and_refusal() {
    let step = PublishStep::PublishSent {
        container: ContainerId::new("c1"),
        at: t0(),
        sends: 2,
        first_at: Some(t0() - chrono::Duration::minutes(6)),
        refused: Some(PublishFailure {
            code: "activity_restricted".into(),
            message: "blocked".into(),
            retryable: true,
        }),
    };
    let json = serde_json::to_string(&step).unwrap();
    assert_eq!(serde_json::from_str::<PublishStep>(&json).unwrap(), step);
    assert_eq!(step.at(), t0());
}
