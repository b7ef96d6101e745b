//! Recovering the media id and permalink of a post confirmed by its container: matched on
//! caption and publish time, never "the first item", and never guessed.

use super::*;

fn listed(id: &str, at: DateTime<Utc>, caption: Option<&str>) -> ListedMedia {
    ListedMedia {
        id: id.into(),
        timestamp: at,
        caption: caption.map(str::to_owned),
        permalink: Some(permalink_of(id)),
    }
}

fn query(caption: Option<&str>) -> MediaQuery {
    MediaQuery {
        container: ContainerId::new("c1"),
        kind: if caption.is_some() {
            MediaKind::Image
        } else {
            MediaKind::Story
        },
        caption: caption.map(str::to_owned),
        published_after: t0(),
        published_before: t0() + chrono::Duration::minutes(10),
    }
}

fn minutes(n: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::minutes(n)
}

#[test]
fn the_one_item_with_the_sent_caption_inside_the_window_is_found_with_its_permalink() {
    let items = [
        listed("newer", minutes(30), Some("Fresh simit #simit")),
        listed("ours", minutes(3), Some("Fresh simit #simit")),
        listed("other", minutes(2), Some("Tea time")),
    ];
    assert_eq!(
        query(Some("Fresh simit #simit")).pick(&items),
        MediaLookup::Found(FoundMedia {
            media_id: "ours".into(),
            permalink: Some(permalink_of("ours")),
        })
    );
}

#[test]
fn the_first_item_is_never_taken_for_the_post() {
    let items = [
        listed("first", minutes(1), Some("Tea time")),
        listed("second", minutes(1), Some("Börek on Sunday")),
    ];
    assert_eq!(
        query(Some("Fresh simit #simit")).pick(&items),
        MediaLookup::NotFound
    );
}

#[test]
fn whitespace_instagram_rewrites_does_not_hide_the_post() {
    let items = [listed(
        "ours",
        minutes(1),
        Some("  Fresh simit\r\n\r\n#simit #istanbul "),
    )];
    assert!(matches!(
        query(Some("Fresh simit\n\n#simit #istanbul")).pick(&items),
        MediaLookup::Found(_)
    ));
    // Other words are another post.
    assert_eq!(
        query(Some("Fresh simit\n\n#simit")).pick(&items),
        MediaLookup::NotFound
    );
}

#[test]
fn an_older_post_with_the_same_caption_outside_the_window_is_not_the_post() {
    let items = [
        listed("ours", minutes(1), Some("Fresh simit")),
        listed(
            "last_week",
            t0() - chrono::Duration::days(7),
            Some("Fresh simit"),
        ),
    ];
    assert!(matches!(
        query(Some("Fresh simit")).pick(&items),
        MediaLookup::Found(FoundMedia { ref media_id, .. }) if media_id == "ours"
    ));
}

#[test]
fn a_timestamp_a_little_off_our_clock_still_matches_but_not_beyond_the_skew() {
    let skew = chrono::Duration::from_std(MediaQuery::CLOCK_SKEW).unwrap();
    let just_inside = [listed("ours", t0() - skew, Some("Fresh simit"))];
    assert!(matches!(
        query(Some("Fresh simit")).pick(&just_inside),
        MediaLookup::Found(_)
    ));
    let outside = [listed(
        "ours",
        t0() - skew - chrono::Duration::seconds(1),
        Some("Fresh simit"),
    )];
    assert_eq!(
        query(Some("Fresh simit")).pick(&outside),
        MediaLookup::NotFound
    );
    assert!(query(Some("Fresh simit")).is_before_window(&outside[0]));
}

#[test]
fn two_posts_with_the_same_caption_in_the_window_are_ambiguous_and_neither_is_chosen() {
    let items = [
        listed("ours", minutes(2), Some("Fresh simit")),
        listed("by_hand", minutes(4), Some("Fresh simit")),
    ];
    assert_eq!(
        query(Some("Fresh simit")).pick(&items),
        MediaLookup::Ambiguous { candidates: 2 }
    );
}

#[test]
fn an_item_listed_twice_across_pages_counts_once() {
    let items = [
        listed("ours", minutes(2), Some("Fresh simit")),
        listed("ours", minutes(2), Some("Fresh simit")),
    ];
    assert!(matches!(
        query(Some("Fresh simit")).pick(&items),
        MediaLookup::Found(_)
    ));
}

#[test]
fn a_story_has_no_caption_and_is_recognised_by_time_alone() {
    let one = [
        listed("story", minutes(1), None),
        listed("old", t0() - chrono::Duration::hours(3), None),
    ];
    assert!(matches!(query(None).pick(&one), MediaLookup::Found(_)));
    let two = [
        listed("story", minutes(1), None),
        listed("another", minutes(2), None),
    ];
    assert_eq!(
        query(None).pick(&two),
        MediaLookup::Ambiguous { candidates: 2 }
    );
}

/// A post confirmed live by its container, after `media_publish` timed out.
async fn confirmed_by_the_container(
    fake: &Arc<FakeInstagram>,
    clock: &Arc<ManualClock>,
    journal: &Arc<MemoryJournal>,
) -> (PublishOrchestrator, PublishPermit, PublishOutcome) {
    fake.answer_publish([Answer::LiveBut(PublishErrorKind::OutcomeUnknown)]);
    let o = orchestrator(fake, journal, clock);
    let permit = permit();
    let first = o.run(&permit, &account(), &media()).await.unwrap();
    (o, permit, first)
}

#[tokio::test]
async fn a_live_post_whose_caption_matches_twice_keeps_looking_then_settles_published_without_a_guess()
 {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    // The owner posted the same words by hand a minute before the click.
    fake.seed_media(&sent_caption(), t0() - chrono::Duration::minutes(1));
    let journal = Arc::new(MemoryJournal::default());

    let (o, permit, first) = confirmed_by_the_container(&fake, &clock, &journal).await;

    let PublishOutcome::Deferred {
        until,
        reason: DeferReason::RecoveringMedia,
    } = first
    else {
        panic!("{first:?}");
    };
    assert!(matches!(
        journal.step(permit.post()),
        Some(PublishStep::Published { media_id: None, .. })
    ));
    assert_eq!(until, clock.now() + chrono::Duration::minutes(1));
    let outcome = run_to_the_end(&o, &permit, &clock).await;
    assert!(
        matches!(
            outcome,
            PublishOutcome::Published {
                media_id: None,
                permalink: None,
                ..
            }
        ),
        "{outcome:?}"
    );
    let lookup_for = chrono::Duration::from_std(PublishPolicy::default().media_lookup_for).unwrap();
    assert!(clock.now() >= t0() + lookup_for);
    assert_eq!(
        fake.calls(Call::Publish),
        1,
        "a live post is never sent again"
    );
}

#[tokio::test]
async fn a_listing_that_lags_the_publish_is_read_again_until_the_post_shows_up() {
    let clock = clock();
    let journal = Arc::new(MemoryJournal::default());
    let permit = permit();
    // The container is PUBLISHED but the listing does not show the post yet: a mock listing
    // that is empty three times, then has it.
    let reads = Arc::new(AtomicU32::new(0));
    let mut p = MockSocialPublisher::new();
    p.expect_container_status()
        .returning(|_, _| Ok(ContainerStatus::Published));
    let seen = Arc::clone(&reads);
    p.expect_find_media().returning(move |_, query| {
        assert_eq!(query.caption.as_deref(), Some(sent_caption().as_str()));
        assert_eq!(query.published_after, t0());
        Ok(if seen.fetch_add(1, Ordering::SeqCst) < 3 {
            MediaLookup::NotFound
        } else {
            MediaLookup::Found(FoundMedia {
                media_id: "m7".into(),
                permalink: Some(permalink_of("m7")),
            })
        })
    });
    p.expect_publish().times(0);
    p.expect_create_container().times(0);
    journal.put(
        permit.post(),
        JournalEntry {
            approved_at: permit.receipt().approved_at(),
            step: PublishStep::PublishSent {
                container: ContainerId::new("c1"),
                at: t0(),
                sends: 1,
                first_at: Some(t0()),
                refused: None,
            },
        },
    );
    let o = orchestrator_with(
        Arc::new(p),
        journal,
        clock.clone(),
        PublishPolicy::default(),
    );

    let first = o.run(&permit, &account(), &media()).await.unwrap();
    assert!(matches!(
        first,
        PublishOutcome::Deferred {
            reason: DeferReason::RecoveringMedia,
            ..
        }
    ));
    let outcome = run_to_the_end(&o, &permit, &clock).await;

    assert_eq!(published(&outcome), ("m7".to_owned(), permalink_of("m7")));
    assert_eq!(reads.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_failed_permalink_read_never_fails_a_live_post_and_is_read_again() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.fail_permalinks(4);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);
    let permit = permit();

    let first = o.run(&permit, &account(), &media()).await.unwrap();

    assert!(matches!(
        first,
        PublishOutcome::Deferred {
            reason: DeferReason::RecoveringMedia,
            ..
        }
    ));
    assert!(matches!(
        journal.step(permit.post()),
        Some(PublishStep::Published {
            media_id: Some(_),
            permalink: None,
            ..
        })
    ));
    let (media_id, permalink) = published(&run_to_the_end(&o, &permit, &clock).await);
    assert_eq!(permalink, permalink_of(&media_id));
    assert_eq!(fake.calls(Call::Publish), 1);
}

#[tokio::test]
async fn a_live_post_found_in_the_journal_settles_with_what_it_recorded_without_calling_meta() {
    let mut p = MockSocialPublisher::new();
    p.expect_container_status().times(0);
    p.expect_find_media().times(0);
    p.expect_permalink().times(0);
    p.expect_publish().times(0);
    let journal = Arc::new(MemoryJournal::default());
    let permit = permit();
    journal.put(
        permit.post(),
        JournalEntry {
            approved_at: permit.receipt().approved_at(),
            step: PublishStep::Published {
                container: ContainerId::new("c1"),
                media_id: Some("m1".into()),
                permalink: Some(permalink_of("m1")),
                at: t0(),
                since: None,
            },
        },
    );
    let o = orchestrator_with(Arc::new(p), journal, clock(), PublishPolicy::default());

    assert_eq!(
        o.run(&permit, &account(), &media()).await.unwrap(),
        PublishOutcome::Published {
            media_id: Some("m1".into()),
            permalink: Some(permalink_of("m1")),
            at: t0()
        }
    );
}
