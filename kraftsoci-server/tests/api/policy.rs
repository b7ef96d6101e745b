//! Policy versions, acceptances and notices (P38), and `publish-policy`'s announcement by
//! email and in-app notice.

use chrono::Duration;
use kraftsoci_core::Clock as _;
use kraftsoci_server::admin::{self, AdminError};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{POLICY, TestApp, code, parts, spawn_app};

impl TestApp {
    async fn get_policy(&self, access: Option<&str>) -> Response {
        let mut request = self.client.get(self.url("/v1/policy"));
        if let Some(access) = access {
            request = request.bearer_auth(access);
        }
        request.send().await.unwrap()
    }

    async fn accept_policy(&self, access: &str, version: &str) -> Response {
        self.client
            .post(self.url("/v1/policy/accept"))
            .bearer_auth(access)
            .header("x-forwarded-for", "198.51.100.20")
            .json(&json!({ "version": version }))
            .send()
            .await
            .unwrap()
    }

    async fn notices(&self, access: &str) -> Value {
        let response = self
            .client
            .get(self.url("/v1/notices"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        let (status, body) = parts(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn read_notice(&self, access: &str, id: &str) -> StatusCode {
        self.client
            .post(self.url(&format!("/v1/notices/{id}/read")))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// `kraftsoci-server publish-policy`, against this server's store, mailer and clock.
    async fn publish_policy(
        &self,
        version: &str,
        summary: &str,
    ) -> Result<admin::PolicyAnnouncement, AdminError> {
        admin::publish_policy(
            &*self.state.stores.policy,
            &*self.state.mailer,
            &*self.state.clock,
            version,
            summary,
        )
        .await
    }

    fn policy_mails(&self) -> Vec<String> {
        self.mails()
            .into_iter()
            .filter(|mail| mail.contains("privacy policy has changed"))
            .collect()
    }
}

#[tokio::test]
async fn publishing_a_policy_mails_and_notifies_every_open_account_once() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let bob = app.signup_user("bob@example.com").await;
    let carol = app.signup_user("carol@example.com").await;
    let (status, _) = parts(app.close_me(&carol.access, crate::helpers::PASSWORD).await).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let done = app
        .publish_policy("2026-02", "We added a mail relay as a processor.")
        .await
        .unwrap();
    assert!(done.recorded);
    assert_eq!(
        (done.accounts, done.notices_created, done.mails_sent),
        (2, 2, 2)
    );
    let mails = app.policy_mails();
    assert_eq!(
        mails.len(),
        2,
        "one mail per open account, none to the closed one"
    );
    assert!(mails.iter().any(|m| m.contains("To: ada@example.com")));
    assert!(mails.iter().any(|m| m.contains("To: bob@example.com")));
    assert!(!mails.iter().any(|m| m.contains("carol@example.com")));
    assert!(mails[0].contains("2026-02") && mails[0].contains("mail relay"));

    let notices = app.notices(&ada.access).await;
    assert_eq!(notices["unread"], 1);
    assert_eq!(notices["notices"][0]["kind"], "policy_version");
    assert!(
        notices["notices"][0]["body"]
            .as_str()
            .unwrap()
            .contains("2026-02")
    );

    // Running it again (after a crash, say) sends nothing twice.
    let again = app
        .publish_policy("2026-02", "We added a mail relay as a processor.")
        .await
        .unwrap();
    assert!(!again.recorded);
    assert_eq!(
        (again.accounts, again.notices_created, again.mails_sent),
        (2, 0, 0)
    );
    assert_eq!(app.policy_mails().len(), 2);
    assert_eq!(
        app.notices(&bob.access).await["notices"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The same label with other words is refused: a new text needs a new version.
    assert!(matches!(
        app.publish_policy("2026-02", "Something else.").await,
        Err(AdminError::VersionConflict(_))
    ));
    assert!(matches!(
        app.publish_policy("bad version!", "x").await,
        Err(AdminError::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn a_notices_limit_outside_1_to_100_is_refused_not_clamped() {
    let app = spawn_app().await;
    let user = app.signup_user("limits@example.com").await;
    for (query, expected) in [
        ("?limit=1", StatusCode::OK),
        ("?limit=100", StatusCode::OK),
        ("?limit=0", StatusCode::BAD_REQUEST),
        ("?limit=101", StatusCode::BAD_REQUEST),
        ("?limit=2147483648", StatusCode::BAD_REQUEST),
        ("?limit=many", StatusCode::BAD_REQUEST),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/v1/notices{query}")))
            .bearer_auth(&user.access)
            .send()
            .await
            .unwrap();
        let (status, body) = parts(response).await;
        assert_eq!(status, expected, "{query}: {body}");
        if expected == StatusCode::BAD_REQUEST {
            assert_eq!(body["error"]["code"], "invalid_query", "{query}");
        }
    }
}

#[tokio::test]
async fn notices_are_marked_read_by_their_owner_only() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let bob = app.signup_user("bob@example.com").await;
    app.publish_policy("2026-02", "New processor.")
        .await
        .unwrap();
    let notice = app.notices(&ada.access).await["notices"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.read_notice(&bob.access, &notice).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.read_notice(&ada.access, "not-a-uuid").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.read_notice(&ada.access, &notice).await,
        StatusCode::NO_CONTENT
    );
    let notices = app.notices(&ada.access).await;
    assert_eq!(notices["unread"], 0);
    assert!(notices["notices"][0]["read_at"].is_string());
    assert_eq!(app.notices(&bob.access).await["unread"], 1);
}

#[tokio::test]
async fn the_current_policy_shows_whether_the_caller_accepted_it() {
    let app = spawn_app().await;
    let (status, _) = parts(app.get_policy(None).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing published yet");

    app.publish_policy(POLICY, "The first version.")
        .await
        .unwrap();
    let ada = app.signup_user("ada@example.com").await;
    let (status, body) = parts(app.get_policy(None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"], POLICY);
    assert_eq!(body["summary"], "The first version.");
    assert!(body.get("accepted").is_none(), "anonymous: no acceptance");
    let (_, body) = parts(app.get_policy(Some(&ada.access)).await).await;
    assert_eq!(body["accepted"], true, "accepted at sign-up");

    app.clock.advance(Duration::minutes(1));
    app.publish_policy("2026-02", "A new processor.")
        .await
        .unwrap();
    let (_, body) = parts(app.get_policy(Some(&ada.access)).await).await;
    assert_eq!(body["version"], "2026-02");
    assert_eq!(body["accepted"], false);
    let (status, _) = parts(app.get_policy(Some("not-a-token")).await).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a bad token is refused, not ignored"
    );
}

#[tokio::test]
async fn accepting_records_time_and_address_and_refuses_unknown_or_old_versions() {
    let app = spawn_app().await;
    app.publish_policy(POLICY, "The first version.")
        .await
        .unwrap();
    let ada = app.signup_user("ada@example.com").await;
    app.clock.advance(Duration::minutes(1));
    app.publish_policy("2026-02", "A new processor.")
        .await
        .unwrap();

    let (status, body) = parts(app.accept_policy(&ada.access, "2099-01").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&body), "unknown_policy_version");
    let (status, body) = parts(app.accept_policy(&ada.access, POLICY).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&body), "outdated_policy_version");

    app.clock.advance(Duration::minutes(5));
    let (status, body) = parts(app.accept_policy(&ada.access, "2026-02").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["accepted_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        app.clock.now()
    );
    let (_, me) = parts(app.get_me(&ada.access).await).await;
    assert_eq!(me["accepted_policy_version"], "2026-02");
    let (_, policy) = parts(app.get_policy(Some(&ada.access)).await).await;
    assert_eq!(policy["accepted"], true);
    let recorded = app
        .db
        .count(format!(
            "SELECT COUNT(*) FROM policy_acceptances WHERE user_id = '{}' AND version = '2026-02' \
             AND ip IS NOT NULL",
            ada.id
        ))
        .await;
    assert_eq!(recorded, 1);
    let anonymous = app
        .post_json("/v1/policy/accept", &json!({"version": "2026-02"}))
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_publish_policy_command_announces_through_the_configured_mail_transport() {
    let app = spawn_app().await;
    app.signup_user("ada@example.com").await;
    let config = (*app.state.config).clone();
    admin::publish_policy_command(&config, "2026-03", "Shorter log retention.")
        .await
        .unwrap();
    let mails = app.policy_mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("Shorter log retention."));
    let refused = admin::publish_policy_command(&config, "2026-03", "Other words.").await;
    assert!(
        matches!(
            refused,
            Err(kraftsoci_server::Error::Command {
                command: "publish-policy",
                ..
            })
        ),
        "{refused:?}"
    );
}
