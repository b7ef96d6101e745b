//! Notifications to the owner (issue 15 §2), on both engines: one notice and one mail per
//! event even when it is reported again (a retried job), preferences honoured, security and
//! legal notices impossible to turn off, Graph 190 → a needs-reconnect notice and mail.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kraftsoci_core::ports::{Mail, MailError, Mailer};
use kraftsoci_core::{PostId, PostStatus, UserId};
use kraftsoci_server::notify::webhooks::TargetPolicy;
use kraftsoci_server::notify::{DispatchDeps, Dispatcher, Event, Notifier, Recorded};
use kraftsoci_server::store::Stores;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;
use wiremock::Mock;
use wiremock::matchers::{method, path_regex};

use crate::helpers::{TestApp, TestUser, code, parts, spawn_app_on};
use crate::support::TestDb;
use crate::worker::{FakeInstagram, Harness, expect_none, fast_config, graph_error, t0};

/// A mail as the capturing mailer saw it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Keeps every mail instead of sending it.
#[derive(Default, Clone)]
pub struct CapturingMailer(Arc<Mutex<Vec<Captured>>>);

impl CapturingMailer {
    pub fn mails(&self) -> Vec<Captured> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl Mailer for CapturingMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.0.lock().unwrap().push(Captured {
            to: mail.to.to_string(),
            subject: mail.subject.clone(),
            text: mail.body.clone(),
            html: None,
        });
        Ok(())
    }

    async fn send_with_html(&self, mail: &Mail, html: &str) -> Result<(), MailError> {
        self.0.lock().unwrap().push(Captured {
            to: mail.to.to_string(),
            subject: mail.subject.clone(),
            text: mail.body.clone(),
            html: Some(html.to_owned()),
        });
        Ok(())
    }
}

/// A dispatcher of a test server (its mailer writes to the outbox).
pub fn app_dispatcher(app: &TestApp) -> Dispatcher {
    Dispatcher::new(kraftsoci_server::dispatch_deps(&app.state))
}

fn harness_dispatcher(h: &Harness, mailer: &CapturingMailer) -> Dispatcher {
    Dispatcher::new(DispatchDeps {
        stores: h.stores.clone(),
        mailer: Arc::new(mailer.clone()),
        vault: Arc::clone(&h.vault),
        clock: Arc::clone(&h.clock),
        public_url: Url::parse("https://app.kraftsoci.test").unwrap(),
        targets: TargetPolicy::for_production(false),
    })
}

pub fn notifier(app: &TestApp) -> Notifier {
    Notifier::new(&app.state.stores, app.state.clock.clone())
}

pub fn user_id(user: &TestUser) -> UserId {
    UserId::from_uuid(user.id.parse().unwrap())
}

pub async fn notices(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let response = app
        .client
        .get(app.url("/v1/notices"))
        .bearer_auth(&user.access)
        .send()
        .await
        .unwrap();
    let (status, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["notices"].as_array().unwrap().clone()
}

pub async fn put_preferences(app: &TestApp, user: &TestUser, body: &Value) -> (StatusCode, Value) {
    parts(
        app.client
            .put(app.url("/v1/me/preferences"))
            .bearer_auth(&user.access)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn notification_mails(app: &TestApp) -> Vec<String> {
    app.mails()
        .into_iter()
        .filter(|mail| mail.contains("multipart/alternative"))
        .collect()
}

async fn each_event_reaches_the_owner_once_by_mail_and_notice(db: TestDb) {
    let app = spawn_app_on(db, |_| {}, |b| b).await;
    let ada = app.signup_user("ada@example.com").await;
    let post = PostId::new();
    let event = Event::publish_failed(
        user_id(&ada),
        post,
        "media_rejected",
        "Instagram refused the image",
        true,
        t0(),
    );

    assert_eq!(notifier(&app).record(&event).await.unwrap(), Recorded::New);
    // The same failure reported again (a retried job) changes nothing.
    assert_eq!(
        notifier(&app).record(&event).await.unwrap(),
        Recorded::Duplicate
    );
    let first = app_dispatcher(&app).run_once().await.unwrap();
    let second = app_dispatcher(&app).run_once().await.unwrap();

    assert_eq!((first.mails_sent, second.mails_sent), (1, 0));
    let mails = notification_mails(&app);
    assert_eq!(mails.len(), 1, "one mail per event");
    let mail = &mails[0];
    assert!(mail.contains("To: ada@example.com"));
    assert!(mail.contains("Subject: Your post could not be published"));
    assert!(mail.contains("Instagram refused the image"));
    assert!(mail.contains(&format!("/posts/{post}")));
    assert!(
        mail.contains("Content-Type: text/html"),
        "an HTML alternative"
    );
    let list = notices(&app, &ada).await;
    assert_eq!(list.len(), 1, "one notice per event: {list:?}");
    assert_eq!(list[0]["kind"], "publish_failed");
    assert_eq!(list[0]["link"], format!("/posts/{post}"));
    assert!(
        list[0]["body"]
            .as_str()
            .unwrap()
            .contains("Instagram refused the image")
    );
}

#[tokio::test]
async fn each_event_reaches_the_owner_once_by_mail_and_notice_on_sqlite() {
    each_event_reaches_the_owner_once_by_mail_and_notice(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn each_event_reaches_the_owner_once_by_mail_and_notice_on_postgres() {
    each_event_reaches_the_owner_once_by_mail_and_notice(TestDb::postgres().await).await;
}

async fn preferences_are_honoured_per_event_and_channel(db: TestDb) {
    let app = spawn_app_on(db, |_| {}, |b| b).await;
    let ada = app.signup_user("ada@example.com").await;
    let (status, body) = put_preferences(
        &app,
        &ada,
        &json!({
            "language": "tr",
            "time_zone": "America/New_York",
            "notifications": {
                "published": {"mail": false, "in_app": true},
                "publish_failed": {"mail": true, "in_app": false}
            }
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["time_zone"], "America/New_York");
    assert_eq!(body["language"], "tr");
    assert_eq!(
        body["notifications"]["published"],
        json!({"mail": false, "in_app": true, "mandatory": false})
    );
    let (_, me) = parts(app.get_me(&ada.access).await).await;
    assert_eq!(me["preferences"]["time_zone"], "America/New_York");
    assert_eq!(
        me["preferences"]["notifications"]["publish_failed"]["in_app"],
        false
    );
    assert_eq!(me["preferences"]["notifications"]["quota_80"]["mail"], true);

    let user = user_id(&ada);
    let post = PostId::new();
    let notifier = notifier(&app);
    notifier
        .record(&Event::published(
            user,
            post,
            Some("https://www.instagram.com/p/abc/"),
        ))
        .await
        .unwrap();
    notifier
        .record(&Event::publish_failed(
            user,
            post,
            "x",
            "the image is too small",
            true,
            t0(),
        ))
        .await
        .unwrap();
    app_dispatcher(&app).run_once().await.unwrap();

    // Mail off → notice only; notice off → mail only (in Turkish, the owner's language).
    let list = notices(&app, &ada).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["kind"], "published");
    assert_eq!(list[0]["link"], "https://www.instagram.com/p/abc/");
    let mails = notification_mails(&app);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("Subject: Gönderiniz yayımlanamadı"),
        "{}",
        mails[0]
    );
}

#[tokio::test]
async fn preferences_are_honoured_per_event_and_channel_on_sqlite() {
    preferences_are_honoured_per_event_and_channel(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn preferences_are_honoured_per_event_and_channel_on_postgres() {
    preferences_are_honoured_per_event_and_channel(TestDb::postgres().await).await;
}

async fn security_and_legal_notices_cannot_be_turned_off(db: TestDb) {
    let app = spawn_app_on(db, |_| {}, |b| b).await;
    let ada = app.signup_user("ada@example.com").await;
    for (event, channels) in [
        ("security", json!({"mail": false, "in_app": true})),
        ("policy_changed", json!({"mail": true, "in_app": false})),
    ] {
        let (status, body) =
            put_preferences(&app, &ada, &json!({"notifications": {event: channels}})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(code(&body), "notification_mandatory");
        assert!(body["error"]["fields"][format!("notifications.{event}")].is_array());
    }
    let (status, body) = put_preferences(
        &app,
        &ada,
        &json!({"notifications": {"posted": {"mail": true, "in_app": true}}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&body), "unknown_event");
    let (status, body) = put_preferences(&app, &ada, &json!({"time_zone": "Mars/Olympus"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&body), "validation_failed");
    // Both channels on for a mandatory notice is accepted and changes nothing.
    let (status, body) = put_preferences(
        &app,
        &ada,
        &json!({"notifications": {"security": {"mail": true, "in_app": true}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["notifications"]["security"],
        json!({"mail": true, "in_app": true, "mandatory": true})
    );
}

#[tokio::test]
async fn security_and_legal_notices_cannot_be_turned_off_on_sqlite() {
    security_and_legal_notices_cannot_be_turned_off(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn security_and_legal_notices_cannot_be_turned_off_on_postgres() {
    security_and_legal_notices_cannot_be_turned_off(TestDb::postgres().await).await;
}

async fn harness_notices(stores: &Stores, user: UserId) -> Vec<kraftsoci_server::store::Notice> {
    stores.policy.notices(user, 100).await.unwrap()
}

async fn a_published_post_is_announced_once_even_when_its_settlement_is_reported_again(h: Harness) {
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000071").await;
    let id = h.approved_post(&owner, None).await;
    let mailer = CapturingMailer::default();

    h.worker().run_once().await.unwrap().expect("a due job");
    let post = h.post(&owner, id).await;
    assert_eq!(post.status, PostStatus::Published);
    // A second worker settling the same outcome (a retried job) raises the same event.
    let again = Event::of_settled_post(&post, Some(owner.connection), h.now()).unwrap();
    let notifier = Notifier::new(&h.stores, Arc::clone(&h.clock));
    assert_eq!(notifier.record(&again).await.unwrap(), Recorded::Duplicate);
    harness_dispatcher(&h, &mailer).run_once().await.unwrap();
    harness_dispatcher(&h, &mailer).run_once().await.unwrap();

    assert_eq!(instagram.publish_count(), 1);
    let notices = harness_notices(&h.stores, owner.id).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, "published");
    assert_eq!(notices[0].link, post.permalink);
    let mails = mailer.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].subject, "Your post is live on Instagram");
    assert!(mails[0].text.contains(post.permalink.as_deref().unwrap()));
    assert!(mails[0].html.as_deref().unwrap().contains("<a href="));
}

#[tokio::test]
async fn a_published_post_is_announced_once_even_when_its_settlement_is_reported_again_on_sqlite() {
    a_published_post_is_announced_once_even_when_its_settlement_is_reported_again(
        Harness::sqlite().await,
    )
    .await;
}

#[tokio::test]
async fn a_published_post_is_announced_once_even_when_its_settlement_is_reported_again_on_postgres()
{
    let manual = Arc::new(kraftsoci_core::ManualClock::new(t0()));
    a_published_post_is_announced_once_even_when_its_settlement_is_reported_again(
        Harness::with(TestDb::postgres().await, manual.clone(), Some(manual)).await,
    )
    .await;
}

async fn a_190_leaves_a_needs_reconnect_notice_and_one_mail(h: Harness) {
    let owner = h.owner("17841400000000072").await;
    let first = h.approved_post(&owner, None).await;
    let second = h.approved_post(&owner, None).await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media$"))
        .respond_with(graph_error(400, 190, "Error validating access token"))
        .named("create container")
        .mount(&h.graph)
        .await;
    expect_none("media_publish", "POST", r"/media_publish$")
        .mount(&h.graph)
        .await;
    let worker = h.worker_with(fast_config());
    let mailer = CapturingMailer::default();

    worker.run_once().await.unwrap().unwrap();
    worker.run_once().await.unwrap().unwrap();
    harness_dispatcher(&h, &mailer).run_once().await.unwrap();

    assert_eq!(
        h.post(&owner, first).await.status,
        PostStatus::NeedsReconnect
    );
    assert_eq!(
        h.post(&owner, second).await.status,
        PostStatus::NeedsReconnect
    );
    // One broken connection, one notice and one mail, however many posts ran into it.
    let notices = harness_notices(&h.stores, owner.id).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].kind, "needs_reconnect");
    assert_eq!(notices[0].link.as_deref(), Some("/onboarding/instagram"));
    let mails = mailer.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].to.starts_with("owner-"), "{}", mails[0].to);
    assert_eq!(mails[0].subject, "Reconnect your Instagram account");
    assert!(
        mails[0]
            .text
            .contains("https://app.kraftsoci.test/onboarding/instagram")
    );
    assert!(!mails[0].text.contains(crate::worker::TOKEN));
}

#[tokio::test]
async fn a_190_leaves_a_needs_reconnect_notice_and_one_mail_on_sqlite() {
    a_190_leaves_a_needs_reconnect_notice_and_one_mail(Harness::sqlite().await).await;
}

#[tokio::test]
async fn a_190_leaves_a_needs_reconnect_notice_and_one_mail_on_postgres() {
    let manual = Arc::new(kraftsoci_core::ManualClock::new(t0()));
    a_190_leaves_a_needs_reconnect_notice_and_one_mail(
        Harness::with(TestDb::postgres().await, manual.clone(), Some(manual)).await,
    )
    .await;
}

async fn a_scheduled_post_is_announced_once_within_the_hour_before_it_goes_out(h: Harness) {
    let owner = h.owner("17841400000000073").await;
    let at = h.now() + chrono::Duration::minutes(90);
    let id = h.approved_post(&owner, Some(at)).await;
    let mailer = CapturingMailer::default();

    let early = harness_dispatcher(&h, &mailer).run_once().await.unwrap();
    assert_eq!(
        early.scheduled_announced, 0,
        "90 minutes ahead is not yet within the hour"
    );
    h.advance(chrono::Duration::minutes(31));
    let due = harness_dispatcher(&h, &mailer).run_once().await.unwrap();
    h.advance(chrono::Duration::minutes(10));
    let later = harness_dispatcher(&h, &mailer).run_once().await.unwrap();

    assert_eq!((due.scheduled_announced, later.scheduled_announced), (1, 0));
    let notices = harness_notices(&h.stores, owner.id).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, "scheduled_soon");
    assert_eq!(notices[0].link, Some(format!("/posts/{id}")));
    assert_eq!(mailer.mails().len(), 1);
    assert_eq!(mailer.mails()[0].subject, "A post goes out within the hour");
}

#[tokio::test]
async fn a_scheduled_post_is_announced_once_within_the_hour_before_it_goes_out_on_sqlite() {
    a_scheduled_post_is_announced_once_within_the_hour_before_it_goes_out(Harness::sqlite().await)
        .await;
}

#[tokio::test]
async fn a_scheduled_post_is_announced_once_within_the_hour_before_it_goes_out_on_postgres() {
    let manual = Arc::new(kraftsoci_core::ManualClock::new(t0()));
    a_scheduled_post_is_announced_once_within_the_hour_before_it_goes_out(
        Harness::with(TestDb::postgres().await, manual.clone(), Some(manual)).await,
    )
    .await;
}

async fn the_allowance_is_announced_at_80_and_100_percent_once_per_period(db: TestDb) {
    // A plan of 10 posts and 5 images a month; each post here has an image.
    let app = spawn_app_on(
        db,
        |config| {
            config.billing.unbilled_plan = kraftsoci_billing::Plan::new(
                kraftsoci_billing::PlanName::parse("small").unwrap(),
                10,
                5,
            );
        },
        |b| b,
    )
    .await;
    let ada = app.profiled_user("ada@example.com").await;
    let kinds = |list: &[Value]| -> Vec<String> {
        list.iter()
            .map(|n| n["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    for _ in 0..3 {
        app.generated(&ada.access).await;
    }
    assert!(
        notices(&app, &ada).await.is_empty(),
        "3 of 5 images is below 80 %"
    );
    app.generated(&ada.access).await;
    assert_eq!(kinds(&notices(&app, &ada).await), ["quota_80"]);
    app.generated(&ada.access).await;
    let (status, _) = app.generate(&ada.access, "One more").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);

    let list = notices(&app, &ada).await;
    let mut seen = kinds(&list);
    seen.sort();
    assert_eq!(seen, ["quota_100", "quota_80"], "once each");
    let full = list.iter().find(|n| n["kind"] == "quota_100").unwrap();
    assert_eq!(full["link"], "/billing");
    assert!(
        full["body"].as_str().unwrap().contains("all 5 images"),
        "{full}"
    );
    app_dispatcher(&app).run_once().await.unwrap();
    assert_eq!(notification_mails(&app).len(), 2);
}

#[tokio::test]
async fn the_allowance_is_announced_at_80_and_100_percent_once_per_period_on_sqlite() {
    the_allowance_is_announced_at_80_and_100_percent_once_per_period(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn the_allowance_is_announced_at_80_and_100_percent_once_per_period_on_postgres() {
    the_allowance_is_announced_at_80_and_100_percent_once_per_period(TestDb::postgres().await)
        .await;
}
