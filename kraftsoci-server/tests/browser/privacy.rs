//! What the browser itself sees: the policy on every page, and that no request leaves for
//! another origin (P07, P36), read from Chromium's own performance and console logs.

use crate::harness::{Browser, Language, click, fill, log, network, open, wait_for};
use crate::helpers::spawn_app;

#[tokio::test]
async fn pages_carry_the_strict_policy_and_no_request_leaves_for_another_origin() {
    let app = spawn_app().await;
    let origin = app.address.clone();
    let pages = [
        app.url("/data-deletion"),
        // An unknown code: its page is a 404 under the same policy.
        app.url("/meta/data-deletion/status?code=00ff"),
    ];
    Browser::run(Language::Turkish, |browser| async move {
        // What Chromium loaded for itself before any page of ours (its new-tab page) is
        // not the pages' doing: start the record on a blank page.
        browser.goto("about:blank").await.unwrap();
        network(&browser).await;
        let mut seen = Vec::new();
        for page in &pages {
            open(&browser, page, "footer").await;
            let (requests, responses) = network(&browser).await;
            // The document, its stylesheet and the icon at least.
            assert!(requests.len() >= 3, "{requests:?}");
            seen.extend(requests);
            let document = responses
                .iter()
                .find(|r| r.mime == "text/html" && &r.url == page)
                .unwrap_or_else(|| panic!("no document response for {page}: {responses:?}"));
            let csp = document
                .headers
                .iter()
                .find(|(name, _)| name == "content-security-policy")
                .map(|(_, value)| value.as_str())
                .unwrap_or_else(|| panic!("{page} has no policy"));
            assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
            // Every file the page uses loads (the unknown code's page itself is a 404).
            assert!(
                responses
                    .iter()
                    .filter(|r| r.url.contains("/static/"))
                    .all(|r| r.status == 200),
                "{responses:?}"
            );
        }
        // A form post and its answer too.
        open(&browser, &pages[0], "form[method=post]").await;
        fill(&browser, "email", "nobody@example.com").await;
        fill(&browser, "password", "wrong password").await;
        click(&browser, "button.button--danger").await;
        wait_for(&browser, ".alert").await;
        let (requests, _) = network(&browser).await;
        seen.extend(requests);

        for request in &seen {
            assert!(
                request.url.starts_with(&format!("{origin}/")),
                "a request left for another origin: {}",
                request.url
            );
        }
        // Nothing on the pages broke the policy (an inline style or script would be
        // refused and reported in the console).
        let console = log(&browser, "browser").await;
        let refused: Vec<_> = console
            .iter()
            .filter(|entry| {
                entry["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Content Security Policy") || m.contains("Refused"))
            })
            .collect();
        assert!(refused.is_empty(), "{refused:?}");
    })
    .await;
}
