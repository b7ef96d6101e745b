//! P06 and P31: the usage log and the objection to it.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, spawn_app};

/// The usage log's rows matching `filter`, once every event recorded so far is written.
async fn rows(app: &TestApp, filter: &str) -> Vec<String> {
    app.state.usage.flush().await;
    app.db
        .strings(format!(
            "SELECT method || ' ' || route || ' ' || status || ' ' || COALESCE(ip, '-') || ' ' || \
             COALESCE(user_agent, '-') || ' ' || security FROM usage_log WHERE {filter} ORDER BY id"
        ))
        .await
}

#[tokio::test]
async fn each_request_is_logged_with_route_template_status_address_and_agent() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    app.client
        .get(app.url("/v1/me?token=should-not-be-logged"))
        .bearer_auth(&user.access)
        .header("user-agent", "Mozilla/5.0 (kraftsoci test)")
        .send()
        .await
        .unwrap();
    app.healthz().await;
    app.login("ada@example.com", "wrong password!").await;

    let mine = rows(&app, &format!("user_id = '{}'", user.id)).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(
        mine[0].starts_with("POST /v1/auth/signup 201 127.0.0.1 "),
        "{}",
        mine[0]
    );
    assert_eq!(
        mine[1],
        "GET /v1/me 200 127.0.0.1 Mozilla/5.0 (kraftsoci test) 0"
    );

    let anonymous = rows(&app, "user_id IS NULL").await;
    assert_eq!(
        anonymous.len(),
        1,
        "health probes are not logged: {anonymous:?}"
    );
    assert!(anonymous[0].starts_with("POST /v1/auth/login 401 127.0.0.1"));
    assert!(
        anonymous[0].ends_with(" 1"),
        "a failed login is a security event"
    );

    let everything = app
        .db
        .strings("SELECT route FROM usage_log".to_owned())
        .await
        .join(" ");
    assert!(!everything.contains("should-not-be-logged"));
}

#[tokio::test]
async fn while_the_user_objects_only_security_events_are_logged() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    assert_eq!(
        app.put_objections(&user.access, true).await.status(),
        StatusCode::OK
    );
    app.state.usage.flush().await;
    let last_id = app
        .db
        .count("SELECT MAX(id) FROM usage_log".to_owned())
        .await;

    app.get_me(&user.access).await;
    app.get_profile(&user.access).await;
    let wrong = app
        .change_password(&user.access, "not my password", "whatever new one")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let after_objection = rows(&app, &format!("id > {last_id}")).await;
    assert_eq!(after_objection.len(), 1, "{after_objection:?}");
    assert!(after_objection[0].starts_with("POST /v1/auth/password 401"));
    assert!(
        after_objection[0].ends_with(" 1"),
        "kept as a security event"
    );

    app.put_objections(&user.access, false).await;
    app.get_me(&user.access).await;
    let last = rows(&app, &format!("user_id = '{}'", user.id)).await;
    assert!(
        last.last().unwrap().starts_with("GET /v1/me 200"),
        "logging resumes"
    );
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}
