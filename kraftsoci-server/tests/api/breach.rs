//! Breach notification (KVKK art. 12(5), GDPR arts. 33/34): the affected users, and only they,
//! get one notice and one mail per incident; a dry run sends nothing; the authority's 72-hour
//! deadline is reported.

use chrono::Duration;
use kraftsoci_core::Clock as _;
use kraftsoci_server::breach::{self, Affected, BREACH_NOTICE_KIND, Incident};

use crate::helpers::{TestApp, spawn_app};
use crate::rights::user_id;

async fn run(app: &TestApp, incident: &Incident, dry_run: bool) -> breach::BreachReport {
    breach::notify(
        &app.state.stores,
        &*app.state.mailer,
        &*app.state.clock,
        &app.state.config.privacy.contact,
        incident,
        dry_run,
    )
    .await
    .unwrap()
}

async fn breach_notices(app: &TestApp, user: &crate::helpers::TestUser) -> usize {
    app.state
        .stores
        .policy
        .notices(user_id(user), 50)
        .await
        .unwrap()
        .iter()
        .filter(|n| n.kind == BREACH_NOTICE_KIND)
        .count()
}

#[tokio::test]
async fn the_affected_users_alone_are_told_once_and_a_dry_run_sends_nothing() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let bob = app.signup_user("bob@example.com").await;
    let mails_before = app.mails().len();
    let detected = app.clock.now() - Duration::hours(5);
    let incident = Incident {
        id: "2026-12-06-media-bucket".to_owned(),
        detected_at: detected,
        summary: "For two hours the image bucket was readable by anyone with a link.".to_owned(),
        affected: Affected::Emails(vec![
            "ADA@example.com".to_owned(),
            "ada@example.com".to_owned(),
            "ghost@example.com".to_owned(),
        ]),
    };

    let dry = run(&app, &incident, true).await;
    assert!(dry.dry_run);
    assert_eq!((dry.recipients, dry.unknown_addresses), (1, 1));
    assert_eq!(dry.authority_deadline, Some(detected + Duration::hours(72)));
    assert!(dry.mail_body.contains("image bucket"), "{}", dry.mail_body);
    assert!(
        dry.mail_body.contains(&app.state.config.privacy.contact),
        "the mail names the contact"
    );
    assert!(dry.mail_body.contains("Kişisel Verileri Koruma Kurulu"));
    assert_eq!(app.mails().len(), mails_before, "a dry run sends nothing");
    assert_eq!(breach_notices(&app, &ada).await, 0, "and records nothing");

    let done = run(&app, &incident, false).await;
    assert_eq!(
        (done.notices_created, done.mails_sent, done.mails_failed),
        (1, 1, 0)
    );
    let mails = app.wait_for_mails(mails_before + 1).await;
    let mail = mails.last().unwrap();
    assert!(mail.contains("To: ada@example.com"), "{mail}");
    assert_eq!(breach_notices(&app, &ada).await, 1);
    assert_eq!(breach_notices(&app, &bob).await, 0, "bob is not affected");

    // Running it again (a retry after a crash) tells nobody twice.
    let again = run(&app, &incident, false).await;
    assert_eq!((again.notices_created, again.mails_sent), (0, 0));
    assert_eq!(app.mails().len(), mails_before + 1);

    // Everyone, for another incident.
    let everyone = Incident {
        id: "2026-12-07-all".to_owned(),
        affected: Affected::All,
        ..incident.clone()
    };
    let all = run(&app, &everyone, false).await;
    assert_eq!((all.recipients, all.mails_sent), (2, 2));
    assert_eq!(breach_notices(&app, &bob).await, 1);
}

#[tokio::test]
async fn a_malformed_incident_is_refused_before_anyone_is_told() {
    let app = spawn_app().await;
    let _ada = app.signup_user("ada@example.com").await;
    let mails_before = app.mails().len();
    let good = Incident {
        id: "incident-1".to_owned(),
        detected_at: app.clock.now(),
        summary: "Something happened.".to_owned(),
        affected: Affected::All,
    };
    let bad = [
        Incident {
            id: "no spaces please".to_owned(),
            ..good.clone()
        },
        Incident {
            id: String::new(),
            ..good.clone()
        },
        Incident {
            summary: "  ".to_owned(),
            ..good.clone()
        },
        Incident {
            detected_at: app.clock.now() + Duration::hours(1),
            ..good.clone()
        },
        Incident {
            affected: Affected::Emails(vec!["not an address".to_owned()]),
            ..good.clone()
        },
    ];
    for incident in &bad {
        let result = breach::notify(
            &app.state.stores,
            &*app.state.mailer,
            &*app.state.clock,
            "privacy@example.com",
            incident,
            false,
        )
        .await;
        assert!(result.is_err(), "{incident:?}");
    }
    assert_eq!(app.mails().len(), mails_before);
    assert!(
        breach::Incident::from_args("x".into(), "yesterday", "s".into(), true, vec![]).is_err()
    );
    assert!(
        breach::Incident::from_args(
            "x".into(),
            "2026-12-06T10:00:00Z",
            "s".into(),
            false,
            vec![]
        )
        .is_err()
    );
}

async fn every_run_is_registered(app: TestApp) {
    let ada = app.signup_user("ada@example.com").await;
    let detected = app.clock.now() - Duration::hours(2);
    let incident = Incident {
        id: "2026-12-06-leaked-log".to_owned(),
        detected_at: detected,
        summary: "A log file with email addresses was readable for an hour.".to_owned(),
        affected: Affected::Emails(vec![ada.email.clone()]),
    };
    assert!(
        breach::register_entries(&app.state.stores)
            .await
            .unwrap()
            .is_empty()
    );
    let dry = run(&app, &incident, true).await;
    app.clock.advance(Duration::minutes(5));
    let done = run(&app, &incident, false).await;

    let entries = breach::register_entries(&app.state.stores).await.unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let (real, rehearsal) = (&entries[0], &entries[1]);
    assert_eq!(Some(real.id), done.register_id);
    assert_eq!(Some(rehearsal.id), dry.register_id);
    assert!(rehearsal.dry_run && !real.dry_run);
    for entry in &entries {
        assert_eq!(entry.incident, "2026-12-06-leaked-log");
        assert_eq!(entry.detected_at, detected);
        assert_eq!(entry.affected, 1);
        assert!(entry.summary.contains("log file"));
    }
    assert_eq!((rehearsal.mails_sent, rehearsal.notified_at), (0, None));
    assert_eq!(real.mails_sent, 1);
    assert_eq!(real.notices_created, 1);
    assert_eq!(real.notified_at, Some(app.clock.now()));
    let table = breach::register_table(&entries);
    assert!(
        table.contains("2026-12-06-leaked-log") && table.contains("log file"),
        "{table}"
    );
    // The register names no one.
    let json = serde_json::to_string(&entries).unwrap();
    assert!(!json.contains(&ada.email), "{json}");
    assert!(!json.contains(&ada.id), "{json}");
}

#[tokio::test]
async fn every_run_dry_or_not_is_kept_in_the_incident_register_on_sqlite() {
    every_run_is_registered(
        crate::helpers::spawn_app_on(crate::support::TestDb::sqlite().await, |_| {}, |b| b).await,
    )
    .await;
}

#[tokio::test]
async fn every_run_dry_or_not_is_kept_in_the_incident_register_on_postgres() {
    every_run_is_registered(
        crate::helpers::spawn_app_on(crate::support::TestDb::postgres().await, |_| {}, |b| b).await,
    )
    .await;
}
