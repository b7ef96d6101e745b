//! Crashes at every step and every ambiguous answer: exactly one successful `media_publish`,
//! no approved post lost, and every published post ends with its media id and permalink.

use super::*;

/// Where the first run dies.
#[derive(Debug, Clone, Copy)]
enum CrashPoint {
    /// The n-th journal write fails: the process died before it was durable.
    BeforeWrite(u32),
    /// The n-th journal write is durable, then the process dies.
    AfterWrite(u32),
    /// The first call of this kind reached Meta and took effect, then the process died before
    /// it read the answer.
    AfterCall(Call),
}

/// created, ready, sent, published (media id), published (permalink).
const HAPPY_PATH_WRITES: u32 = 5;

fn crash_points() -> Vec<CrashPoint> {
    let mut points = Vec::new();
    for n in 0..HAPPY_PATH_WRITES {
        points.push(CrashPoint::BeforeWrite(n));
        points.push(CrashPoint::AfterWrite(n));
    }
    for call in [
        Call::Create,
        Call::Status,
        Call::Quota,
        Call::Publish,
        Call::Permalink,
    ] {
        points.push(CrashPoint::AfterCall(call));
    }
    points
}

fn grace() -> chrono::Duration {
    chrono::Duration::from_std(PublishPolicy::default().reconcile_grace).unwrap()
}

#[tokio::test]
async fn a_crash_at_every_journal_step_and_after_every_graph_call_publishes_exactly_once() {
    for point in crash_points() {
        let clock = clock();
        let fake = FakeInstagram::new(clock.clone());
        let journal = Arc::new(MemoryJournal::default());
        let permit = permit();
        match point {
            CrashPoint::BeforeWrite(n) => journal.fail_write(n),
            CrashPoint::AfterWrite(n) => journal.crash_after_write(n, Arc::clone(&fake.crash)),
            CrashPoint::AfterCall(call) => fake.crash_after(call, 1),
        }

        let first = orchestrator(&fake, &journal, &clock);
        let (acct, items) = (account(), media());
        let died = tokio::select! {
            result = first.run(&permit, &acct, &items) => result.is_err(),
            () = fake.crash.fired.notified() => true,
        };
        assert!(died, "{point:?}: the first run was meant to die");
        drop(first);
        journal.heal();
        let died_at = clock.now();

        // A new process: a new orchestrator and quota book; the same journal and Instagram.
        let second = orchestrator(&fake, &journal, &clock);
        let outcome = run_to_the_end(&second, &permit, &clock).await;

        let (media_id, permalink) = published(&outcome);
        assert_eq!(fake.successful_publishes(), 1, "{point:?}");
        assert_eq!(fake.live_posts(), vec![media_id.clone()], "{point:?}");
        assert_eq!(permalink, permalink_of(&media_id), "{point:?}");
        // Dying before the container's id was durable leaves an orphan that never goes live
        // (it expires); after that, the one container is reused.
        let orphaned = matches!(
            point,
            CrashPoint::BeforeWrite(0) | CrashPoint::AfterCall(Call::Create)
        );
        assert_eq!(fake.containers(), 1 + usize::from(orphaned), "{point:?}");
        assert!(
            clock.now() <= died_at + grace() + chrono::Duration::minutes(1),
            "{point:?}: settled at {} after dying at {died_at}",
            clock.now()
        );
        // A further run changes nothing and calls nobody.
        let calls = fake.graph_calls();
        assert_eq!(
            second.run(&permit, &account(), &media()).await.unwrap(),
            outcome,
            "{point:?}"
        );
        assert_eq!(fake.graph_calls(), calls, "{point:?}");
    }
}

#[tokio::test]
async fn a_crash_between_recording_publish_sent_and_sending_waits_the_grace_then_sends_once() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    let journal = Arc::new(MemoryJournal::default());
    let permit = permit();
    // Write 2 is PublishSent: durable, then the process dies before the request.
    journal.crash_after_write(2, Arc::clone(&fake.crash));
    let first = orchestrator(&fake, &journal, &clock);
    let (acct, items) = (account(), media());
    tokio::select! {
        _ = first.run(&permit, &acct, &items) => panic!("the run was meant to die"),
        () = fake.crash.fired.notified() => {}
    }
    journal.heal();
    let Some(PublishStep::PublishSent { at: sent_at, .. }) = journal.step(permit.post()) else {
        panic!("publish sent was recorded");
    };
    let second = orchestrator(&fake, &journal, &clock);

    // The request may be on its way: nothing is sent before the grace is over.
    assert_eq!(
        second.run(&permit, &account(), &media()).await.unwrap(),
        PublishOutcome::Deferred {
            until: sent_at + grace(),
            reason: DeferReason::OutcomeUnknown
        }
    );
    clock.set(sent_at + grace() - chrono::Duration::seconds(1));
    assert!(matches!(
        second.run(&permit, &account(), &media()).await.unwrap(),
        PublishOutcome::Deferred { .. }
    ));
    assert_eq!(fake.calls(Call::Publish), 0);

    clock.set(sent_at + grace());
    published(&second.run(&permit, &account(), &media()).await.unwrap());
    assert_eq!(fake.calls(Call::Publish), 1);
    assert!(matches!(
        journal.step(permit.post()),
        Some(PublishStep::Published { since: Some(first), .. }) if first == sent_at
    ));
}

#[tokio::test]
async fn an_ambiguous_answer_with_the_post_live_is_settled_by_the_container_with_its_media_id() {
    let answers = [
        ("timeout", Answer::LiveBut(PublishErrorKind::OutcomeUnknown)),
        ("5xx", Answer::LiveBut(PublishErrorKind::Transient)),
        ("unclassified", Answer::LiveBut(PublishErrorKind::Unknown)),
        (
            "4/2207051",
            Answer::LiveBut(PublishErrorKind::ActivityRestricted),
        ),
        ("506 duplicate", Answer::LiveDuplicate),
    ];
    for (name, answer) in answers {
        let clock = clock();
        let fake = FakeInstagram::new(clock.clone());
        fake.answer_publish([answer]);
        let journal = Arc::new(MemoryJournal::default());
        let o = orchestrator(&fake, &journal, &clock);

        let outcome = o.run(&permit(), &account(), &media()).await.unwrap();

        let (media_id, permalink) = published(&outcome);
        assert_eq!(fake.media_of("c1"), Some(media_id.clone()), "{name}");
        assert_eq!(permalink, permalink_of(&media_id), "{name}");
        assert_eq!(fake.calls(Call::Publish), 1, "{name}: never sent again");
        assert_eq!(fake.calls(Call::Status), 2, "{name}: poll, then reconcile");
        assert_eq!(fake.calls(Call::FindMedia), 1, "{name}");
        assert_eq!(fake.calls(Call::Permalink), 0, "{name}: the listing has it");
    }
}

#[tokio::test]
async fn an_ambiguous_answer_with_the_post_not_live_waits_the_grace_then_publishes_the_same_container()
 {
    let kinds = [
        ("timeout", PublishErrorKind::OutcomeUnknown),
        ("5xx", PublishErrorKind::Transient),
        ("unclassified", PublishErrorKind::Unknown),
    ];
    for (name, kind) in kinds {
        let clock = clock();
        let fake = FakeInstagram::new(clock.clone());
        fake.answer_publish([Answer::NotLive(kind)]);
        let journal = Arc::new(MemoryJournal::default());
        let o = orchestrator(&fake, &journal, &clock);
        let permit = permit();

        let first = o.run(&permit, &account(), &media()).await.unwrap();

        let sent_at = t0() + chrono::Duration::seconds(2);
        assert_eq!(
            first,
            PublishOutcome::Deferred {
                until: sent_at + grace(),
                reason: DeferReason::OutcomeUnknown
            },
            "{name}"
        );
        clock.set(sent_at + grace());
        published(&o.run(&permit, &account(), &media()).await.unwrap());
        assert_eq!(fake.calls(Call::Publish), 2, "{name}");
        assert_eq!(fake.successful_publishes(), 1, "{name}");
        assert_eq!(fake.containers(), 1, "{name}: the same container");
    }
}

#[tokio::test]
async fn metas_delayed_error_with_the_post_going_live_two_minutes_later_is_never_published_twice() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_publish([Answer::LiveLater(
        chrono::Duration::minutes(2),
        PublishErrorKind::Transient,
    )]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    let outcome = run_to_the_end(&o, &permit(), &clock).await;

    let (media_id, _) = published(&outcome);
    assert_eq!(fake.live_posts(), vec![media_id]);
    assert_eq!(fake.calls(Call::Publish), 1);
}

#[tokio::test]
async fn the_spam_restriction_with_the_post_not_live_fails_after_the_grace_without_a_second_request()
 {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_publish([Answer::NotLive(PublishErrorKind::ActivityRestricted)]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);
    let permit = permit();

    assert!(matches!(
        o.run(&permit, &account(), &media()).await.unwrap(),
        PublishOutcome::Deferred {
            reason: DeferReason::OutcomeUnknown,
            ..
        }
    ));
    assert!(matches!(
        journal.step(permit.post()),
        Some(PublishStep::PublishSent {
            refused: Some(_),
            ..
        })
    ));
    let outcome = run_to_the_end(&o, &permit, &clock).await;

    let failure = failed(&outcome);
    assert_eq!(failure.code, "activity_restricted");
    assert!(failure.retryable);
    assert_eq!(fake.calls(Call::Publish), 1);
    assert!(fake.live_posts().is_empty());
}

#[tokio::test]
async fn a_duplicate_answer_with_the_post_not_live_is_not_believed() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_publish([Answer::ClaimsDuplicate]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    let outcome = run_to_the_end(&o, &permit(), &clock).await;

    published(&outcome);
    assert_eq!(fake.calls(Call::Publish), 2);
    assert_eq!(fake.successful_publishes(), 1);
}

#[tokio::test]
async fn a_container_that_never_goes_live_is_sent_a_bounded_number_of_times_then_fails_retryably() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_publish(vec![Answer::NotLive(PublishErrorKind::OutcomeUnknown); 3]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    let outcome = run_to_the_end(&o, &permit(), &clock).await;

    let failure = failed(&outcome);
    assert_eq!(failure.code, "publish_unconfirmed");
    assert!(failure.retryable);
    assert_eq!(fake.calls(Call::Publish), 3);
    assert_eq!(fake.containers(), 1);
    assert!(fake.live_posts().is_empty());
}

#[tokio::test]
async fn a_container_expired_after_an_unanswered_request_is_replaced_under_the_same_permit() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_publish([Answer::NotLive(PublishErrorKind::OutcomeUnknown)]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);
    let permit = permit();
    assert!(matches!(
        o.run(&permit, &account(), &media()).await.unwrap(),
        PublishOutcome::Deferred { .. }
    ));
    fake.expire(&ContainerId::new("c1"));

    let outcome = run_to_the_end(&o, &permit, &clock).await;

    published(&outcome);
    assert_eq!(fake.containers(), 2);
    assert_eq!(fake.successful_publishes(), 1);
    assert_eq!(fake.media_of("c1"), None);
}

#[tokio::test]
async fn unreadable_containers_during_reconciliation_never_lead_to_a_blind_publish() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_publish([Answer::NotLive(PublishErrorKind::OutcomeUnknown)]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);
    let permit = permit();
    let first = o.run(&permit, &account(), &media()).await.unwrap();
    let PublishOutcome::Deferred { until, .. } = first else {
        panic!("{first:?}");
    };

    // Past the grace, but the container cannot be read: wait, never publish blindly.
    fake.fail_statuses(2);
    clock.set(until);
    for _ in 0..2 {
        let outcome = o.run(&permit, &account(), &media()).await.unwrap();
        let PublishOutcome::Deferred {
            until,
            reason: DeferReason::OutcomeUnknown,
        } = outcome
        else {
            panic!("{outcome:?}");
        };
        clock.set(until);
    }
    assert_eq!(fake.calls(Call::Publish), 1);

    published(&o.run(&permit, &account(), &media()).await.unwrap());
    assert_eq!(fake.calls(Call::Publish), 2);
    assert_eq!(fake.successful_publishes(), 1);
}

#[tokio::test]
async fn an_invalid_token_found_while_reconciling_asks_for_a_reconnect_and_sends_nothing() {
    let clock = clock();
    let journal = Arc::new(MemoryJournal::default());
    let permit = permit();
    journal.put(
        permit.post(),
        JournalEntry {
            approved_at: permit.receipt().approved_at(),
            step: PublishStep::PublishSent {
                container: ContainerId::new("c9"),
                at: t0(),
                sends: 1,
                first_at: None,
                refused: None,
            },
        },
    );
    let mut p = MockSocialPublisher::new();
    p.expect_container_status()
        .times(1)
        .returning(|_, _| Err(err(PublishErrorKind::ReconnectNeeded)));
    p.expect_publish().times(0);
    p.expect_create_container().times(0);
    let o = orchestrator_with(Arc::new(p), journal, clock, PublishPolicy::default());

    assert!(matches!(
        o.run(&permit, &account(), &media()).await.unwrap(),
        PublishOutcome::NeedsReconnect { .. }
    ));
}
