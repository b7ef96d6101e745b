//! Core's [`MediaProbe`] over HTTP: before a container is created, the worker fetches each
//! media URL the way Meta's fetcher will (a public GET, no credentials, no redirects).
//!
//! Meta downloads `image_url` while it creates the container; when the URL does not answer
//! (the API restarting, a bucket timing out) the container fails, and every failed container
//! counts against the account's 400 a day. A probe costs nothing at Meta, so the orchestration
//! probes first and waits with back-off while the media is unreachable
//! ([`PublishPolicy::media_fetch_retry_for`](kraftsoci_core::PublishPolicy::media_fetch_retry_for)).
//!
//! Only the status line and headers are read; the body is dropped unread. The URL is signed
//! (it is a credential for one object): it never reaches a log or an error, only its host.

use std::time::Duration;

use async_trait::async_trait;
use kraftsoci_core::ports::{MediaProbe, MediaReach, MediaSource};
use reqwest::StatusCode;

/// How long one probe may take, from connect to the response's headers. Meta's own fetcher
/// gives up after a few seconds, so a URL slower than this would fail the container too.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Probes media URLs with a plain HTTP client.
#[derive(Debug, Clone)]
pub struct HttpMediaProbe {
    client: reqwest::Client,
}

impl HttpMediaProbe {
    /// A probe that waits at most `timeout` per URL.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS backend).
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent("kraftsoci-media-probe")
            .build()?;
        Ok(Self { client })
    }
}

/// The host of a URL, for messages (never the path or query: they carry the signature).
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "the media host".to_owned())
}

/// What a status means for Meta's fetcher.
fn reach_of(status: StatusCode, host: &str) -> MediaReach {
    if status.is_success() {
        return MediaReach::Reachable;
    }
    let code = status.as_u16();
    if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        return MediaReach::Unreachable {
            reason: format!("{host} answered {code}"),
        };
    }
    if status.is_redirection() {
        return MediaReach::Gone {
            reason: format!("{host} redirects the image ({code}), which Instagram does not follow"),
        };
    }
    MediaReach::Gone {
        reason: format!("{host} answered {code} for the image (missing or its link expired)"),
    }
}

#[async_trait]
impl MediaProbe for HttpMediaProbe {
    async fn probe(&self, media: &MediaSource) -> MediaReach {
        let host = host_of(&media.url);
        match self.client.get(&media.url).send().await {
            Ok(response) => reach_of(response.status(), &host),
            Err(error) => {
                let what = if error.is_timeout() {
                    "timed out"
                } else if error.is_connect() {
                    "refused the connection"
                } else if error.is_builder() {
                    return MediaReach::Gone {
                        reason: "the image link is not a valid URL".to_owned(),
                    };
                } else {
                    "failed"
                };
                MediaReach::Unreachable {
                    reason: format!("{host} {what}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn source(url: String) -> MediaSource {
        MediaSource {
            url,
            is_video: false,
        }
    }

    #[tokio::test]
    async fn a_url_is_reachable_gone_or_unreachable_as_metas_fetcher_would_find_it() {
        let server = MockServer::start().await;
        for (at, status) in [
            ("/ok", 200),
            ("/gone", 404),
            ("/expired", 403),
            ("/down", 503),
        ] {
            Mock::given(method("GET"))
                .and(path(at))
                .respond_with(ResponseTemplate::new(status).set_body_bytes(b"\xff\xd8".to_vec()))
                .mount(&server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path("/moved"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", "/ok"))
            .mount(&server)
            .await;
        let probe = HttpMediaProbe::new(Duration::from_secs(5)).unwrap();
        let at = |p: &str| source(format!("{}{p}?sig=secret-signature", server.uri()));

        assert_eq!(probe.probe(&at("/ok")).await, MediaReach::Reachable);
        for gone in ["/gone", "/expired", "/moved"] {
            let reach = probe.probe(&at(gone)).await;
            let MediaReach::Gone { reason } = reach else {
                panic!("{gone}: {reach:?}");
            };
            assert!(!reason.contains("secret-signature"), "{reason}");
        }
        let MediaReach::Unreachable { reason } = probe.probe(&at("/down")).await else {
            panic!("a 503 is passing");
        };
        assert_eq!(reason, "127.0.0.1 answered 503");
    }

    #[tokio::test]
    async fn a_host_that_refuses_connections_is_unreachable_not_gone() {
        // Bind, learn the port, close: nothing listens there any more.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let probe = HttpMediaProbe::new(Duration::from_secs(5)).unwrap();

        let reach = probe
            .probe(&source(format!("http://127.0.0.1:{port}/media/token")))
            .await;

        assert_eq!(
            reach,
            MediaReach::Unreachable {
                reason: "127.0.0.1 refused the connection".to_owned()
            }
        );
    }

    #[tokio::test]
    async fn a_slow_host_is_unreachable_after_the_timeout() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let probe = HttpMediaProbe::new(Duration::from_millis(50)).unwrap();

        let reach = probe.probe(&source(format!("{}/slow", server.uri()))).await;

        assert_eq!(
            reach,
            MediaReach::Unreachable {
                reason: "127.0.0.1 timed out".to_owned()
            }
        );
    }
}
