//! `/me/accounts`: every page of Pages, with and without a linked Instagram account.

use kraftsoci_meta::MetaError;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use wiremock::matchers::{bearer_token, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

const USER_TOKEN: &str = "EAAlong-lived-user";
const FIELDS: &str = "id,name,access_token,instagram_business_account{id,username}";

#[tokio::test(start_paused = true)]
async fn pages_are_read_across_every_result_page_and_pages_without_instagram_are_reported() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param("fields", FIELDS))
        .and(query_param_is_missing("after"))
        .and(bearer_token(USER_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"id": "111", "name": "Simit Corner", "access_token": "EAApage-111",
                 "instagram_business_account": {"id": "17841405822304914", "username": "simitcorner"}},
                {"id": "222", "name": "Old Page", "access_token": "EAApage-222"}
            ],
            "paging": {
                "cursors": {"before": "QVFIUb", "after": "QVFIUa"},
                // Meta's next URL carries the token and the production host: never followed as is.
                "next": format!("https://graph.facebook.com/v25.0/me/accounts?access_token={USER_TOKEN}&after=QVFIUa")
            }
        })))
        .expect(1)
        .mount(&graph.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param("fields", FIELDS))
        .and(query_param("after", "QVFIUa"))
        .and(bearer_token(USER_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"id": "333", "name": "Tea House", "access_token": "EAApage-333",
                 "instagram_business_account": {"id": "17841400000000001"}}
            ],
            "paging": {"cursors": {"before": "QVFIUa", "after": "QVFIUz"}}
        })))
        .expect(1)
        .mount(&graph.server)
        .await;

    let found = graph
        .client
        .instagram_accounts(&SecretString::from(USER_TOKEN))
        .await
        .unwrap();

    assert_eq!(found.accounts.len(), 2);
    let first = &found.accounts[0];
    assert_eq!(first.ig_user_id.as_str(), "17841405822304914");
    assert_eq!(first.username.as_deref(), Some("simitcorner"));
    assert_eq!(
        (first.page_id.as_str(), first.page_name.as_str()),
        ("111", "Simit Corner")
    );
    assert_eq!(
        first.page_access_token.as_ref().unwrap().expose_secret(),
        "EAApage-111"
    );
    assert!(!format!("{first:?}").contains("EAApage-111"));
    assert_eq!(found.accounts[1].ig_user_id.as_str(), "17841400000000001");
    assert_eq!(found.accounts[1].username, None);
    assert_eq!(found.pages_without_instagram.len(), 1);
    assert_eq!(found.pages_without_instagram[0].page_id, "222");
    assert_eq!(found.pages_without_instagram[0].page_name, "Old Page");
    graph.assert_tokens_only_in_headers(USER_TOKEN).await;
}

#[tokio::test(start_paused = true)]
async fn a_paging_cursor_that_repeats_is_an_error_not_an_endless_loop() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [],
            "paging": {"cursors": {"after": "SAME"}, "next": "https://graph.facebook.com/next"}
        })))
        .expect(2)
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .instagram_accounts(&SecretString::from(USER_TOKEN))
        .await
        .unwrap_err();

    assert!(
        matches!(error, MetaError::UnexpectedResponse { .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_user_without_pages_has_no_accounts() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&graph.server)
        .await;

    let found = graph
        .client
        .instagram_accounts(&SecretString::from(USER_TOKEN))
        .await
        .unwrap();

    assert!(found.accounts.is_empty());
    assert!(found.pages_without_instagram.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_expired_user_token_while_listing_pages_asks_for_a_reconnect() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .respond_with(graph_error(
            190,
            Some(460),
            "The session has been invalidated because the user changed their password",
        ))
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .instagram_accounts(&SecretString::from(USER_TOKEN))
        .await
        .unwrap_err();

    assert_eq!(
        error.kind(),
        kraftsoci_meta::ErrorKind::ReconnectNeeded { subcode: Some(460) }
    );
}
