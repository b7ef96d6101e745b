//! Requests that arrive by email or post (P33) and a parent's request to close a minor's
//! account, as the operator records them (`kraftsoci-server requests …`).

use chrono::Duration;
use kraftsoci_core::Clock as _;
use kraftsoci_core::retention::SweepMode;
use kraftsoci_server::requests::{self, RequestError};
use kraftsoci_server::retention::Sweep;
use reqwest::StatusCode;

use crate::helpers::spawn_app;
use crate::rights::user_id;

#[tokio::test]
async fn a_mailed_request_is_due_in_thirty_days_listed_when_overdue_and_completed_once() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let (stores, billing, clock) = (&app.state.stores, &app.state.billing, &*app.state.clock);
    let arrived = (app.clock.now() - Duration::days(31)).to_rfc3339();
    let recorded = requests::record(
        stores,
        billing,
        clock,
        " Ada@Example.com ",
        "access",
        Some(&arrived),
    )
    .await
    .unwrap();
    assert_eq!(recorded.kind, "access");
    assert_eq!(recorded.due_at, recorded.received_at + Duration::days(30));
    assert_eq!(recorded.purge_by, None);

    let overdue = requests::open(stores, clock, true).await.unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].id, recorded.id);
    assert_eq!(overdue[0].user, ada.id);
    assert!(overdue[0].overdue);
    // The sweep reports it too.
    let run = Sweep::for_state(&app.state)
        .unwrap()
        .run(SweepMode::DryRun)
        .await;
    assert_eq!(run.overdue_requests.len(), 1, "{run:?}");
    assert!(kraftsoci_server::retention::run_table(&run).contains(&recorded.id));

    // The user sees it among their requests.
    let mine = app.my_requests(&ada.access).await;
    assert!(mine.to_string().contains(&recorded.id), "{mine}");

    requests::complete(stores, clock, "ada@example.com", &recorded.id)
        .await
        .unwrap();
    assert!(
        requests::open(stores, clock, false)
            .await
            .unwrap()
            .is_empty()
    );
    // Another account's request id is not this account's.
    let bob = app.signup_user("bob@example.com").await;
    assert!(matches!(
        requests::complete(stores, clock, &bob.email, &recorded.id).await,
        Err(RequestError::UnknownRequest)
    ));
}

#[tokio::test]
async fn a_parents_request_closes_the_minors_account_at_once_without_its_password() {
    let app = spawn_app().await;
    let minor = app.signup_user("minor@example.com").await;
    let (stores, billing, clock) = (&app.state.stores, &app.state.billing, &*app.state.clock);
    let recorded = requests::record(stores, billing, clock, "minor@example.com", "erasure", None)
        .await
        .unwrap();
    assert_eq!(recorded.kind, "erasure");
    assert_eq!(
        recorded.purge_by,
        Some(app.clock.now() + Duration::days(30))
    );
    assert_eq!(
        app.get_me(&minor.access).await.status(),
        StatusCode::UNAUTHORIZED,
        "closed at once: every session ends"
    );
    let open = requests::open(stores, clock, false).await.unwrap();
    assert_eq!(open.len(), 1, "the erasure is answered by the purge");
    assert_eq!(open[0].user, user_id(&minor).to_string());
    // The closed account takes no further requests.
    assert!(matches!(
        requests::record(stores, billing, clock, "minor@example.com", "access", None).await,
        Err(RequestError::UnknownAccount)
    ));
}

#[tokio::test]
async fn malformed_requests_are_refused_and_record_nothing() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let (stores, billing, clock) = (&app.state.stores, &app.state.billing, &*app.state.clock);
    let future = (app.clock.now() + Duration::days(1)).to_rfc3339();
    let past = (app.clock.now() - Duration::days(1)).to_rfc3339();
    let cases: [(&str, &str, Option<&str>); 6] = [
        ("nobody@example.com", "access", None),
        ("not an address", "access", None),
        ("ada@example.com", "review-my-life", None),
        ("ada@example.com", "access", Some(future.as_str())),
        ("ada@example.com", "access", Some("yesterday")),
        ("ada@example.com", "erasure", Some(past.as_str())),
    ];
    for (email, kind, at) in cases {
        let result = requests::record(stores, billing, clock, email, kind, at).await;
        assert!(result.is_err(), "{email} {kind} {at:?}: {result:?}");
    }
    assert!(
        requests::open(stores, clock, false)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::OK,
        "a refused erasure closes nothing"
    );
}
