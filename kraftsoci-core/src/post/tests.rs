use chrono::{Duration, TimeZone};

use super::*;
use crate::domain::sample_content;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
}

fn target() -> IgUserId {
    IgUserId::parse("17841405822304914").unwrap()
}

/// A post in `status`, with a consent matching its content where the status carries one.
fn post_in(status: PostStatus) -> Post {
    let owner = UserId::new();
    let id = PostId::new();
    let content = sample_content();
    let consent = match status {
        PostStatus::Ready
        | PostStatus::Withdrawn
        | PostStatus::Generating
        | PostStatus::GenerationFailed => None,
        _ => Some(ConsentReceipt::restore(
            owner,
            id,
            content.hash(),
            target(),
            t0(),
            Some("203.0.113.7".into()),
            Some("test-agent".into()),
            None,
        )),
    };
    Post::restore(PostSnapshot {
        id,
        owner,
        content,
        status,
        consent,
        created_at: t0(),
        updated_at: t0(),
        published_at: (status == PostStatus::Published).then(t0),
        instagram_media_id: None,
        permalink: None,
        failure: None,
        generation_step: None,
    })
    .unwrap()
}

fn generation_failure() -> PublishFailure {
    PublishFailure {
        code: "generator_unavailable".into(),
        message: "the generator could not be reached".into(),
        retryable: true,
    }
}

fn click(post: &Post) -> Approval {
    Approval {
        user: post.owner(),
        shown_hash: post.content_hash(),
        target: target(),
        at: t0() + Duration::minutes(1),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("test-agent".into()),
        scheduled_for: None,
        api_key: None,
    }
}

/// Applies `event` with ordinary, valid arguments; returns the resulting status.
fn apply(post: &mut Post, event: PostEvent) -> Result<PostStatus, LifecycleError> {
    let now = t0() + Duration::minutes(2);
    let open = Restrictions::default();
    match event {
        PostEvent::Edit => post.edit(
            Edit {
                caption: Some(Caption::parse("An edited caption").unwrap()),
                ..Edit::default()
            },
            now,
        ),
        PostEvent::Approve => post.approve(click(post)).map(|_| ()),
        PostEvent::Withdraw => post.withdraw(now),
        PostEvent::Reopen => post.reopen(now),
        PostEvent::BeginPublishing => post.begin_publishing(now, &open).map(|_| ()),
        PostEvent::ResumePublishing => post.resume_publishing(&open).map(|_| ()),
        PostEvent::Published => post.mark_published(Some("m1".into()), None, now),
        PostEvent::Failed => post.mark_failed(
            PublishFailure {
                code: "x".into(),
                message: "x".into(),
                retryable: true,
            },
            now,
        ),
        PostEvent::TokenInvalid => post.mark_needs_reconnect(now),
        PostEvent::Reconnected => post.reconnected(now, false),
        PostEvent::Regenerate => post.regenerate(now),
        PostEvent::Generated => post.finish_generation(sample_content(), now),
        PostEvent::GenerationFailed => post.fail_generation(generation_failure(), now),
    }
    .map(|()| post.status())
}

/// The whole table: every (status, event) pair, with the status it leads to or `None` when the
/// event is refused.
fn expected(status: PostStatus, event: PostEvent) -> Option<PostStatus> {
    use PostEvent as E;
    use PostStatus as S;
    match (status, event) {
        (S::Ready, E::Edit) => Some(S::Ready),
        (S::Ready, E::Approve) => Some(S::Approved),

        (S::Approved, E::Edit) => Some(S::Ready),
        (S::Approved, E::Approve) => Some(S::Approved),
        (S::Approved, E::Withdraw) => Some(S::Withdrawn),
        (S::Approved, E::BeginPublishing) => Some(S::Publishing),
        (S::Approved, E::TokenInvalid) => Some(S::NeedsReconnect),

        (S::Publishing, E::Approve) => Some(S::Publishing),
        (S::Publishing, E::ResumePublishing) => Some(S::Publishing),
        (S::Publishing, E::Published) => Some(S::Published),
        (S::Publishing, E::Failed) => Some(S::Failed),
        (S::Publishing, E::TokenInvalid) => Some(S::NeedsReconnect),

        (S::Published, E::Approve) => Some(S::Published),

        (S::Failed, E::Edit) => Some(S::Ready),
        (S::Failed, E::Approve) => Some(S::Approved),

        (S::Withdrawn, E::Edit) => Some(S::Ready),
        (S::Withdrawn, E::Approve) => Some(S::Approved),
        (S::Withdrawn, E::Reopen) => Some(S::Ready),

        (S::NeedsReconnect, E::Edit) => Some(S::Ready),
        (S::NeedsReconnect, E::Withdraw) => Some(S::Withdrawn),
        (S::NeedsReconnect, E::Reconnected) => Some(S::Approved),

        (S::Generating, E::Generated) => Some(S::Ready),
        (S::Generating, E::GenerationFailed) => Some(S::GenerationFailed),
        (S::GenerationFailed, E::Regenerate) => Some(S::Generating),
        (S::Ready, E::Regenerate) => Some(S::Generating),
        (S::Failed, E::Regenerate) => Some(S::Generating),
        (S::Withdrawn, E::Regenerate) => Some(S::Generating),

        _ => None,
    }
}

#[test]
fn every_status_event_pair_follows_the_transition_table() {
    let mut checked = 0;
    for status in PostStatus::ALL {
        for event in PostEvent::ALL {
            let mut post = post_in(status);
            let before = post.clone();
            let result = apply(&mut post, event);
            match expected(status, event) {
                Some(next) => assert_eq!(result, Ok(next), "{status} + {event:?}"),
                None => {
                    assert_eq!(
                        result,
                        Err(LifecycleError::NotAllowed { status, event }),
                        "{status} + {event:?} must be refused"
                    );
                    assert_eq!(post, before, "a refused {event:?} must change nothing");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, PostStatus::ALL.len() * PostEvent::ALL.len());
}

#[test]
fn nothing_reaches_publishing_without_an_approval() {
    for status in PostStatus::ALL {
        if status == PostStatus::Approved {
            continue;
        }
        let mut post = post_in(status);
        assert!(
            post.begin_publishing(t0(), &Restrictions::default())
                .is_err()
        );
    }
}

#[test]
fn an_edit_after_approval_voids_it_and_the_old_hash_no_longer_works() {
    let mut post = post_in(PostStatus::Ready);
    let shown = click(&post);
    post.approve(shown.clone()).unwrap();
    let approved_hash = post.content_hash();
    post.edit(
        Edit {
            caption: Some(Caption::parse("Changed after the click").unwrap()),
            ..Edit::default()
        },
        t0(),
    )
    .unwrap();
    assert_eq!(post.status(), PostStatus::Ready);
    assert!(post.consent().is_none());
    assert_ne!(post.content_hash(), approved_hash);
    // Re-sending the old click is refused: the owner must look at the new content.
    let mut stale = shown;
    stale.shown_hash = approved_hash;
    assert_eq!(post.approve(stale), Err(LifecycleError::ContentChanged));
    assert!(
        post.begin_publishing(t0(), &Restrictions::default())
            .is_err()
    );
}

#[test]
fn a_consent_that_does_not_match_the_stored_content_yields_no_permit() {
    // Simulates content changed behind the lifecycle's back (e.g. a direct database edit).
    let post = post_in(PostStatus::Approved);
    let mut snapshot = post.into_snapshot();
    snapshot.content.caption = Caption::parse("tampered").unwrap();
    let mut post = Post::restore(snapshot).unwrap();
    assert_eq!(
        post.begin_publishing(t0(), &Restrictions::default()),
        Err(LifecycleError::ContentChanged)
    );
    assert_eq!(post.status(), PostStatus::Approved);
}

#[test]
fn a_scheduled_approval_waits_for_its_time() {
    let mut post = post_in(PostStatus::Ready);
    let at = t0() + Duration::hours(3);
    let mut approval = click(&post);
    approval.scheduled_for = Some(at);
    post.approve(approval).unwrap();
    assert_eq!(
        post.begin_publishing(at - Duration::seconds(1), &Restrictions::default()),
        Err(LifecycleError::NotYetDue(at))
    );
    assert_eq!(post.status(), PostStatus::Approved);
    // Until then it can be withdrawn.
    let mut withdrawn = post.clone();
    withdrawn.withdraw(at - Duration::seconds(1)).unwrap();
    assert_eq!(withdrawn.status(), PostStatus::Withdrawn);
    assert!(withdrawn.consent().is_none());
    let permit = post.begin_publishing(at, &Restrictions::default()).unwrap();
    assert_eq!(permit.receipt().scheduled_for(), Some(at));
}

#[test]
fn restricted_publishing_refuses_the_permit() {
    let mut post = post_in(PostStatus::Approved);
    let restricted = Restrictions {
        generation: false,
        publishing: true,
    };
    assert_eq!(
        post.begin_publishing(t0(), &restricted),
        Err(LifecycleError::Restricted(ProcessingRestricted(
            Processing::Publishing
        )))
    );
    let publishing = post_in(PostStatus::Publishing);
    assert!(publishing.resume_publishing(&restricted).is_err());
}

#[test]
fn only_the_owner_can_approve() {
    let mut post = post_in(PostStatus::Ready);
    let mut approval = click(&post);
    approval.user = UserId::new();
    assert_eq!(post.approve(approval), Err(LifecycleError::NotOwner));
}

#[test]
fn the_click_binds_the_target_account_into_the_receipt_hash() {
    let mut post = post_in(PostStatus::Ready);
    post.edit(
        Edit {
            target: Some(None),
            ..Edit::default()
        },
        t0(),
    )
    .unwrap();
    let shown = post.content_hash();
    post.approve(click(&post)).unwrap();
    let receipt = post.consent().unwrap().clone();
    assert_eq!(receipt.target(), &target());
    assert_ne!(
        receipt.content_hash(),
        shown,
        "the receipt hash includes the target"
    );
    assert_eq!(receipt.content_hash(), post.content_hash());

    // A post already aimed at one account cannot be approved for another.
    let mut aimed = post_in(PostStatus::Ready);
    let mut other = click(&aimed);
    other.target = IgUserId::parse("999").unwrap();
    assert_eq!(aimed.approve(other), Err(LifecycleError::TargetChanged));
}

#[test]
fn repeating_the_click_is_harmless() {
    let mut post = post_in(PostStatus::Ready);
    assert_eq!(post.approve(click(&post)), Ok(ApproveOutcome::Approved));
    let receipt = post.consent().cloned();
    let again = click(&post);
    assert_eq!(post.approve(again.clone()), Ok(ApproveOutcome::Unchanged));
    assert_eq!(post.consent().cloned(), receipt);
    post.begin_publishing(t0() + Duration::minutes(5), &Restrictions::default())
        .unwrap();
    assert_eq!(post.approve(again), Ok(ApproveOutcome::Unchanged));
    assert_eq!(post.status(), PostStatus::Publishing);
}

#[test]
fn reconnecting_returns_a_still_matching_approval_to_approved() {
    let mut post = post_in(PostStatus::Approved);
    post.mark_needs_reconnect(t0()).unwrap();
    post.reconnected(t0(), false).unwrap();
    assert_eq!(post.status(), PostStatus::Approved);

    let mut stale = post_in(PostStatus::NeedsReconnect).into_snapshot();
    stale.content.caption = Caption::parse("changed in storage").unwrap();
    let mut stale = Post::restore(stale).unwrap();
    stale.reconnected(t0(), false).unwrap();
    assert_eq!(stale.status(), PostStatus::Ready);
    assert!(stale.consent().is_none());
}

#[test]
fn a_scheduled_approval_whose_time_passed_while_disconnected_needs_a_fresh_click() {
    let at = t0() + Duration::hours(3);
    let scheduled = || {
        let mut post = post_in(PostStatus::Ready);
        let mut approval = click(&post);
        approval.scheduled_for = Some(at);
        post.approve(approval).unwrap();
        post.mark_needs_reconnect(t0() + Duration::hours(1))
            .unwrap();
        post
    };
    // Back before its time: the approval stands.
    let mut early = scheduled();
    early.reconnected(at - Duration::seconds(1), false).unwrap();
    assert_eq!(early.status(), PostStatus::Approved);
    assert_eq!(early.snapshot().failure, None);

    // Back after it: ready again, with a notice naming the time consented to.
    let mut late = scheduled();
    late.reconnected(at + Duration::minutes(1), false).unwrap();
    assert_eq!(late.status(), PostStatus::Ready);
    assert!(late.consent().is_none());
    let notice = late.snapshot().failure.clone().expect("a notice");
    assert_eq!(notice.code, SCHEDULE_MISSED);
    assert!(notice.retryable);
    assert!(
        notice.message.contains("2026-05-01 12:00 UTC"),
        "{}",
        notice.message
    );
    assert!(
        late.begin_publishing(at + Duration::hours(1), &Restrictions::default())
            .is_err(),
        "nothing publishes it without a fresh click"
    );
    // A fresh click clears the notice.
    late.approve(click(&late)).unwrap();
    assert_eq!(late.snapshot().failure, None);

    // A request may already have made it live: the worker settles it by its container.
    let mut sent = scheduled();
    sent.reconnected(at + Duration::minutes(1), true).unwrap();
    assert_eq!(sent.status(), PostStatus::Approved);

    // An approval for "now" is not a time that can pass.
    let mut now = post_in(PostStatus::Approved);
    now.mark_needs_reconnect(t0()).unwrap();
    now.reconnected(t0() + Duration::days(2), false).unwrap();
    assert_eq!(now.status(), PostStatus::Approved);
}

#[test]
fn restore_refuses_inconsistent_snapshots() {
    let mut no_consent = post_in(PostStatus::Approved).into_snapshot();
    no_consent.consent = None;
    assert!(Post::restore(no_consent).is_err());

    let mut foreign = post_in(PostStatus::Approved).into_snapshot();
    foreign.owner = UserId::new();
    assert!(Post::restore(foreign).is_err());

    let mut no_time = post_in(PostStatus::Published).into_snapshot();
    no_time.published_at = None;
    assert!(Post::restore(no_time).is_err());
}

#[test]
fn an_edit_that_breaks_instagram_limits_changes_nothing() {
    let mut post = post_in(PostStatus::Approved);
    let before = post.clone();
    let many: Vec<Hashtag> = (0..31)
        .map(|i| Hashtag::parse(&format!("tag{i}")).unwrap())
        .collect();
    let result = post.edit(
        Edit {
            hashtags: Some(many),
            ..Edit::default()
        },
        t0(),
    );
    assert!(matches!(result, Err(LifecycleError::InvalidContent(_))));
    assert_eq!(post, before);
}

#[test]
fn statuses_round_trip_through_their_names() {
    for status in PostStatus::ALL {
        assert_eq!(PostStatus::parse(status.as_str()).unwrap(), status);
    }
    assert!(PostStatus::parse("draft").is_err());
}

#[test]
fn a_new_post_starts_generating_with_empty_content_and_no_consent() {
    let post = Post::generating(UserId::new(), t0());
    assert_eq!(post.status(), PostStatus::Generating);
    assert_eq!(post.generation_step(), Some(GenerationStep::Queued));
    assert_eq!(post.content().caption.as_str(), "");
    assert!(post.content().media.is_empty());
    assert!(post.consent().is_none());
    // It round-trips through storage.
    let restored = Post::restore(post.snapshot().clone()).unwrap();
    assert_eq!(restored, post);
}

#[test]
fn finishing_generation_makes_the_post_ready_and_failing_keeps_its_reason() {
    let mut post = Post::generating(UserId::new(), t0());
    post.finish_generation(sample_content(), t0() + Duration::seconds(5))
        .unwrap();
    assert_eq!(post.status(), PostStatus::Ready);
    assert_eq!(post.generation_step(), Some(GenerationStep::Ready));
    assert_eq!(post.content(), &sample_content());

    let mut failing = Post::generating(UserId::new(), t0());
    failing
        .fail_generation(generation_failure(), t0() + Duration::seconds(5))
        .unwrap();
    assert_eq!(failing.status(), PostStatus::GenerationFailed);
    assert_eq!(failing.generation_step(), Some(GenerationStep::Failed));
    assert_eq!(
        failing.snapshot().failure.as_ref().map(|f| f.code.as_str()),
        Some("generator_unavailable")
    );
    // A failed generation can be retried.
    failing.regenerate(t0() + Duration::seconds(9)).unwrap();
    assert_eq!(failing.status(), PostStatus::Generating);
    assert!(failing.snapshot().failure.is_none());
}

#[test]
fn regenerating_voids_the_consent_and_the_old_hash_no_longer_matches() {
    let mut post = post_in(PostStatus::Failed);
    let old_hash = post.content_hash();
    assert!(post.consent().is_some());
    post.regenerate(t0() + Duration::minutes(3)).unwrap();
    assert!(post.consent().is_none(), "regenerating voids the consent");
    let mut content = post.content().clone();
    content.caption = Caption::parse("A freshly written caption").unwrap();
    post.finish_generation(content, t0() + Duration::minutes(4))
        .unwrap();
    assert_ne!(post.content_hash(), old_hash);
    let mut stale = click(&post);
    stale.shown_hash = old_hash;
    assert_eq!(post.approve(stale), Err(LifecycleError::ContentChanged));
}

#[test]
fn an_approved_post_is_not_regenerated_in_place() {
    for status in [
        PostStatus::Approved,
        PostStatus::NeedsReconnect,
        PostStatus::Publishing,
        PostStatus::Published,
        PostStatus::Generating,
    ] {
        let mut post = post_in(status);
        assert!(post.regenerate(t0()).is_err(), "{status}");
    }
}

#[test]
fn restore_refuses_a_generating_post_with_a_consent() {
    let approved = post_in(PostStatus::Approved);
    let mut snapshot = approved.snapshot().clone();
    snapshot.status = PostStatus::Generating;
    assert!(Post::restore(snapshot).is_err());
}

#[test]
fn generation_steps_round_trip_through_their_names() {
    for step in GenerationStep::ALL {
        assert_eq!(GenerationStep::parse(step.as_str()), Ok(step));
    }
    assert!(GenerationStep::parse("thinking").is_err());
    assert!(GenerationStep::Ready.is_final() && GenerationStep::Failed.is_final());
    assert!(!GenerationStep::Drawing.is_final());
}
