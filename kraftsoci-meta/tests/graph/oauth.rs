//! Facebook Login: the dialog URL, code and long-lived exchanges, `debug_token`, permissions.

use chrono::DateTime;
use kraftsoci_meta::{ErrorKind, LoginOptions, MetaClient, MetaConfig, MetaError, TokenExpiry};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;
use wiremock::matchers::{
    bearer_token, header_exists, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

const CODE: &str = "AQDcode-from-the-dialog";
const SHORT: &str = "EAAshort-lived";
const LONG: &str = "EAAlong-lived";

fn token_body(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in}),
    )
}

#[tokio::test]
async fn the_login_url_asks_for_exactly_the_five_publishing_scopes_with_the_callers_state() {
    let graph = TestGraph::start().await;

    let url = graph.client.login_url("csrf-state-123").unwrap();

    assert_eq!(url.path(), "/v25.0/dialog/oauth");
    let query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    assert_eq!(
        query,
        vec![
            ("client_id".into(), APP_ID.into()),
            ("redirect_uri".into(), REDIRECT_URI.into()),
            ("state".into(), "csrf-state-123".into()),
            (
                "scope".into(),
                "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement,business_management".into()
            ),
            ("response_type".into(), "code".into()),
        ]
    );
}

#[tokio::test]
async fn the_production_login_url_points_at_facebook() {
    let client = MetaClient::new(MetaConfig::new(
        APP_ID,
        SecretString::from(APP_SECRET),
        Url::parse(REDIRECT_URI).unwrap(),
    ))
    .unwrap();
    let url = client.login_url("s").unwrap();
    assert!(
        url.as_str()
            .starts_with("https://www.facebook.com/v25.0/dialog/oauth?client_id=1234567890&")
    );
    assert!(!url.as_str().contains(APP_SECRET));
}

#[tokio::test]
async fn a_rerequest_login_url_asks_again_for_declined_permissions() {
    let graph = TestGraph::start().await;
    let url = graph
        .client
        .login_url_with(
            "s",
            &LoginOptions::default()
                .with_rerequest(true)
                .with_scopes(["instagram_content_publish"]),
        )
        .unwrap();
    let query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    assert!(query.contains(&("auth_type".into(), "rerequest".into())));
    assert!(query.contains(&("scope".into(), "instagram_content_publish".into())));
}

#[tokio::test]
async fn an_empty_state_is_refused() {
    let graph = TestGraph::start().await;
    assert!(matches!(
        graph.client.login_url(""),
        Err(MetaError::InvalidInput(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_code_is_exchanged_for_a_short_lived_token_with_the_documented_parameters() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("client_id", APP_ID))
        .and(query_param("redirect_uri", REDIRECT_URI))
        .and(query_param("client_secret", APP_SECRET))
        .and(query_param("code", CODE))
        .and(query_param_is_missing("appsecret_proof"))
        .respond_with(token_body(SHORT, 5183944))
        .expect(1)
        .mount(&graph.server)
        .await;

    let token = graph
        .client
        .exchange_code(&SecretString::from(CODE))
        .await
        .unwrap();

    assert_eq!(token.token.expose_secret(), SHORT);
    assert_eq!(token.token_type.as_deref(), Some("bearer"));
    assert_eq!(
        token.expires_in,
        Some(std::time::Duration::from_secs(5183944))
    );
    assert!(!format!("{token:?}").contains(SHORT));
    let requests = graph.requests().await;
    assert!(requests[0].headers.get("authorization").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_token_answer_without_expires_in_is_accepted() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": SHORT})))
        .mount(&graph.server)
        .await;
    let token = graph
        .client
        .exchange_code(&SecretString::from(CODE))
        .await
        .unwrap();
    assert_eq!(token.expires_in, None);
}

#[tokio::test(start_paused = true)]
async fn a_reused_code_is_an_invalid_request_and_the_error_never_shows_the_code_or_secret() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(graph_error(
            100,
            Some(36009),
            &format!("This authorization code has been used: {CODE}"),
        ))
        .expect(1)
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .exchange_code(&SecretString::from(CODE))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    let everything = format!("{error} {error:?}");
    assert!(!everything.contains(CODE), "{everything}");
    assert!(!everything.contains(APP_SECRET), "{everything}");
    assert!(!everything.contains("client_secret"), "{everything}");
}

#[tokio::test]
async fn a_failed_code_exchange_connection_never_shows_the_url_with_the_secret() {
    let client = MetaClient::new(
        MetaConfig::new(
            APP_ID,
            SecretString::from(APP_SECRET),
            Url::parse(REDIRECT_URI).unwrap(),
        )
        .with_graph_base_url(Url::parse("http://127.0.0.1:9/").unwrap()),
    )
    .unwrap();
    let error = client
        .exchange_code(&SecretString::from(CODE))
        .await
        .unwrap_err();
    let mut everything = format!("{error} {error:?}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        everything.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    assert!(!everything.contains(APP_SECRET), "{everything}");
    assert!(!everything.contains(CODE), "{everything}");
}

#[tokio::test(start_paused = true)]
async fn the_code_exchange_needs_the_app_secret_and_calls_nothing_without_it() {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(token_body(SHORT, 1))
        .expect(0)
        .mount(&server)
        .await;
    // Everything the code exchange needs but the app secret.
    let config = MetaConfig::token_only()
        .with_app_id(APP_ID)
        .with_redirect_uri(Url::parse(REDIRECT_URI).unwrap())
        .with_graph_base_url(Url::parse(&server.uri()).unwrap())
        .with_timeouts(None, None, None);
    let client = MetaClient::new(config).unwrap();

    let error = client
        .exchange_code(&SecretString::from(CODE))
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            MetaError::MissingConfig {
                field: "app_secret"
            }
        ),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_short_lived_token_is_exchanged_for_a_long_lived_one() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("client_id", APP_ID))
        .and(query_param("client_secret", APP_SECRET))
        .and(query_param("fb_exchange_token", SHORT))
        .respond_with(token_body(LONG, 5183944))
        .expect(1)
        .mount(&graph.server)
        .await;

    let token = graph
        .client
        .exchange_long_lived(&SecretString::from(SHORT))
        .await
        .unwrap();

    assert_eq!(token.token.expose_secret(), LONG);
    let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    assert_eq!(
        token.expires_at(now),
        DateTime::from_timestamp(1_705_183_944, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn an_expired_short_lived_token_cannot_be_exchanged_and_asks_for_a_reconnect() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(graph_error(190, Some(463), "Session has expired"))
        .mount(&graph.server)
        .await;
    let error = graph
        .client
        .exchange_long_lived(&SecretString::from(SHORT))
        .await
        .unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::ReconnectNeeded { subcode: Some(463) }
    );
    assert!(!format!("{error:?}").contains(SHORT));
}

fn app_token() -> String {
    format!("{APP_ID}|{APP_SECRET}")
}

async fn debug_answer(graph: &TestGraph, data: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/v25.0/debug_token"))
        .and(query_param("input_token", LONG))
        .and(bearer_token(app_token()))
        .and(query_param("appsecret_proof", proof(&app_token())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": data })))
        .expect(1)
        .mount(&graph.server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn debug_token_reads_a_valid_user_token_with_its_scopes() {
    let graph = TestGraph::start().await;
    debug_answer(
        &graph,
        json!({
            "app_id": APP_ID, "type": "USER", "application": "kraftsoci",
            "data_access_expires_at": 1754846089, "expires_at": 1752254132, "is_valid": true,
            "issued_at": 1747070132, "scopes": ["instagram_basic", "instagram_content_publish"],
            "granular_scopes": [{"scope": "instagram_basic", "target_ids": ["17841405822304914"]}],
            "user_id": "10215"
        }),
    )
    .await;

    let info = graph
        .client
        .debug_token(&SecretString::from(LONG))
        .await
        .unwrap();

    assert!(info.is_valid);
    assert_eq!(info.token_type.as_deref(), Some("USER"));
    assert_eq!(info.user_id.as_deref(), Some("10215"));
    assert_eq!(
        info.expires,
        TokenExpiry::At(DateTime::from_timestamp(1752254132, 0).unwrap())
    );
    assert_eq!(
        info.data_access_expires_at,
        DateTime::from_timestamp(1754846089, 0)
    );
    assert_eq!(
        info.scopes,
        vec!["instagram_basic", "instagram_content_publish"]
    );
    assert_eq!(
        info.granular_scopes[0].target_ids,
        vec!["17841405822304914"]
    );
    assert_eq!(info.error, None);
}

#[tokio::test(start_paused = true)]
async fn debug_token_reports_an_expired_token_as_invalid_with_its_reason() {
    let graph = TestGraph::start().await;
    debug_answer(
        &graph,
        json!({
            "app_id": APP_ID, "type": "USER", "is_valid": false, "expires_at": 1700000000,
            "error": {"code": 190, "message": "Error validating access token: Session has expired", "subcode": 463},
            "scopes": []
        }),
    )
    .await;

    let info = graph
        .client
        .debug_token(&SecretString::from(LONG))
        .await
        .unwrap();

    assert!(!info.is_valid);
    let problem = info.error.unwrap();
    assert_eq!((problem.code, problem.subcode), (Some(190), Some(463)));
}

#[tokio::test(start_paused = true)]
async fn debug_token_reads_a_page_token_that_never_expires() {
    let graph = TestGraph::start().await;
    debug_answer(
        &graph,
        json!({"app_id": APP_ID, "type": "PAGE", "is_valid": true, "expires_at": 0, "profile_id": "1122"}),
    )
    .await;

    let info = graph
        .client
        .debug_token(&SecretString::from(LONG))
        .await
        .unwrap();

    assert_eq!(info.token_type.as_deref(), Some("PAGE"));
    assert_eq!(info.expires, TokenExpiry::Never);
    assert_eq!(info.issued_at, None);
}

async fn permissions_answer(graph: &TestGraph, rows: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/v25.0/me/permissions"))
        .and(bearer_token(LONG))
        .and(header_exists("authorization"))
        .and(query_param("appsecret_proof", proof(LONG)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": rows })))
        .expect(1)
        .mount(&graph.server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_missing_instagram_content_publish_permission_is_a_typed_error_naming_it() {
    let graph = TestGraph::start().await;
    permissions_answer(
        &graph,
        json!([
            {"permission": "instagram_basic", "status": "granted"},
            {"permission": "instagram_content_publish", "status": "declined"},
            {"permission": "pages_show_list", "status": "granted"},
            {"permission": "pages_read_engagement", "status": "granted"},
            {"permission": "public_profile", "status": "granted"}
        ]),
    )
    .await;

    let error = graph
        .client
        .check_permissions(&SecretString::from(LONG))
        .await
        .unwrap_err();

    let MetaError::PermissionsMissing { missing } = &error else {
        panic!("expected PermissionsMissing, got {error:?}");
    };
    assert_eq!(missing, &vec!["instagram_content_publish".to_owned()]);
    assert!(
        error
            .to_string()
            .contains("grant again: instagram_content_publish")
    );
}

#[tokio::test(start_paused = true)]
async fn granted_permissions_pass_the_check() {
    let graph = TestGraph::start().await;
    permissions_answer(
        &graph,
        json!([
            {"permission": "instagram_basic", "status": "granted"},
            {"permission": "instagram_content_publish", "status": "granted"},
            {"permission": "pages_show_list", "status": "granted"},
            {"permission": "pages_read_engagement", "status": "granted"},
            {"permission": "business_management", "status": "expired"}
        ]),
    )
    .await;

    let permissions = graph
        .client
        .check_permissions(&SecretString::from(LONG))
        .await
        .unwrap();

    assert!(permissions.is_granted("instagram_content_publish"));
    assert_eq!(permissions.expired, vec!["business_management"]);
}
