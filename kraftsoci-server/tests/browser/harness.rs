//! Headless Chromium over WebDriver: one `chromedriver` per test on a free port, a fresh
//! profile, the flags this machine needs, Chromium's performance and console logs, and
//! screenshots on request.
//!
//! - Chromium and ChromeDriver are Debian's `chromium` and `chromium-driver`
//!   (`/usr/bin/chromium`, `/usr/bin/chromedriver`; `KRAFTSOCI_CHROMIUM` and
//!   `KRAFTSOCI_CHROMEDRIVER` point elsewhere). `.ci/run` installs them when missing.
//! - Missing, the suite **fails**. On a developer machine without them,
//!   `KRAFTSOCI_BROWSER_TESTS=skip` turns each test into a printed skip; CI never sets it.
//! - `KRAFTSOCI_SCREENSHOTS=1` writes full-page PNGs to `docs/screenshots/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt as _;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::support::TempDir;

/// Two cores are shared with everything else: at most two browsers at a time.
static BROWSERS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(2));

fn program(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// Whether the developer asked to skip browser tests on a machine without a browser.
fn skipping_allowed() -> bool {
    std::env::var("KRAFTSOCI_BROWSER_TESTS").is_ok_and(|v| v == "skip")
}

/// The language the browser asks pages in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Turkish,
}

impl Language {
    fn accept(self) -> &'static str {
        match self {
            Self::English => "en-GB,en",
            Self::Turkish => "tr-TR,tr",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Self::English => "en-GB",
            Self::Turkish => "tr",
        }
    }

    /// The suffix of screenshot names.
    pub fn tag(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Turkish => "tr",
        }
    }
}

/// A running chromedriver with one Chromium session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

/// `POST /session/{id}/se/log`: ChromeDriver's log endpoint (not in the W3C protocol, so
/// fantoccini has no method for it).
#[derive(Debug)]
struct GetLog(&'static str);

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": self.0 }).to_string()),
        )
    }
}

/// `POST /session/{id}/goog/cdp/execute`: a DevTools command through ChromeDriver.
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "cmd": self.0, "params": self.1 }).to_string()),
        )
    }
}

/// Makes the page believe the reader chose a dark colour scheme.
pub async fn prefer_dark(client: &Client) {
    client
        .issue_cmd(Cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
        ))
        .await
        .expect("chromedriver forwards DevTools commands");
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that asks for `language`; `None` only when
    /// the browser is missing and skipping was allowed.
    pub async fn start(
        language: Language,
    ) -> Option<(Self, tokio::sync::SemaphorePermit<'static>)> {
        let chromium = program("KRAFTSOCI_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = program("KRAFTSOCI_CHROMEDRIVER", "/usr/bin/chromedriver");
        for binary in [&chromium, &chromedriver] {
            if !binary.exists() {
                if skipping_allowed() {
                    eprintln!(
                        "SKIPPED: {} is missing (KRAFTSOCI_BROWSER_TESTS=skip)",
                        binary.display()
                    );
                    return None;
                }
                panic!(
                    "{} is missing: the browser suite needs Debian's chromium and chromium-driver \
                     (apt-get install chromium chromium-driver; .ci/run does this). On a developer \
                     machine without them, KRAFTSOCI_BROWSER_TESTS=skip skips the suite.",
                    binary.display()
                );
            }
        }
        let permit = BROWSERS
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", chromedriver.display()));
        let profile = TempDir::new("chromium-profile");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-default-apps",
                    "--disable-extensions",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    format!("--lang={}", language.flag()),
                    format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=1280,900",
                ],
                "prefs": { "intl.accept_languages": language.accept() },
            },
            "goog:loggingPrefs": { "performance": "ALL", "browser": "ALL" },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen; retry the session for up to 30 s.
        let mut attempts = 0;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if attempts < 150 => {
                    attempts += 1;
                    if attempts % 50 == 0 {
                        eprintln!("waiting for chromedriver: {error}");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("no WebDriver session on port {port}: {error}"),
            }
        };
        Some((
            Self {
                client,
                driver,
                _profile: profile,
            },
            permit,
        ))
    }

    /// Runs `test` with a browser asking for `language`, then closes it whatever happened
    /// (a failed assertion still ends Chromium and chromedriver).
    pub async fn run<F, Fut>(language: Language, test: F)
    where
        F: FnOnce(Client) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let Some((mut browser, _permit)) = Self::start(language).await else {
            return;
        };
        let outcome = std::panic::AssertUnwindSafe(test(browser.client.clone()))
            .catch_unwind()
            .await;
        let _ = browser.client.clone().close().await;
        let _ = browser.driver.kill();
        let _ = browser.driver.wait();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The entries of one of Chromium's logs since the last call (`performance` or `browser`).
pub async fn log(client: &Client, kind: &'static str) -> Vec<Value> {
    match client
        .issue_cmd(GetLog(kind))
        .await
        .expect("chromedriver answers its log")
    {
        Value::Array(entries) => entries,
        other => panic!("a log is a list: {other}"),
    }
}

/// A request Chromium made, from its performance log.
#[derive(Debug, Clone)]
pub struct Request {
    pub url: String,
}

/// A response Chromium received, from its performance log.
#[derive(Debug, Clone)]
pub struct Received {
    pub url: String,
    pub status: u64,
    pub mime: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
}

/// The network traffic in the performance log since the last read.
pub async fn network(client: &Client) -> (Vec<Request>, Vec<Received>) {
    let mut requests = Vec::new();
    let mut responses = Vec::new();
    for entry in log(client, "performance").await {
        let Some(message) = entry["message"].as_str() else {
            continue;
        };
        let Ok(message) = serde_json::from_str::<Value>(message) else {
            continue;
        };
        let event = &message["message"];
        match event["method"].as_str() {
            Some("Network.requestWillBeSent") => requests.push(Request {
                url: event["params"]["request"]["url"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            }),
            Some("Network.responseReceived") => {
                let response = &event["params"]["response"];
                let headers = response["headers"]
                    .as_object()
                    .map(|h| {
                        h.iter()
                            .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap_or("").to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                responses.push(Received {
                    url: response["url"].as_str().unwrap_or("").to_owned(),
                    status: response["status"].as_u64().unwrap_or(0),
                    mime: response["mimeType"].as_str().unwrap_or("").to_owned(),
                    headers,
                });
            }
            _ => {}
        }
    }
    (requests, responses)
}

/// Loads `url` and waits until `css` is on the page.
pub async fn open(client: &Client, url: &str, css: &str) {
    client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    wait_for(client, css).await;
}

/// Waits (up to 30 s) until `css` is on the page.
pub async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

/// The text of the first element matching `css`.
pub async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Types `value` into the field `#id`.
pub async fn fill(client: &Client, id: &str, value: &str) {
    let field = client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Clicks the first element matching `css`.
pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// With `KRAFTSOCI_SCREENSHOTS=1`, writes the whole page at `width` pixels to
/// `docs/screenshots/{name}.png`; otherwise does nothing.
pub async fn screenshot(client: &Client, name: &str, width: u32) {
    if std::env::var("KRAFTSOCI_SCREENSHOTS").map_or(true, |v| v != "1") {
        return;
    }
    // The layout's height depends on its width: resize until the window holds it all.
    client.set_window_size(width, 900).await.unwrap();
    for _ in 0..4 {
        let sizes = client
            .execute(
                "return [document.documentElement.scrollHeight, \
                 window.outerHeight - window.innerHeight, window.innerHeight]",
                vec![],
            )
            .await
            .unwrap();
        let number = |i: usize| sizes[i].as_u64().unwrap_or(0);
        let (content, chrome, viewport) = (number(0), number(1), number(2));
        if viewport >= content {
            break;
        }
        let height = u32::try_from(content + chrome)
            .unwrap_or(900)
            .clamp(400, 8000);
        client.set_window_size(width, height).await.unwrap();
    }
    let png = client.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    client.set_window_size(1280, 900).await.unwrap();
}

/// Waits (up to 30 s) until the browser has left `path` (a form post redirected), and
/// returns the new path and query.
pub async fn left(client: &Client, path: &str) -> String {
    for _ in 0..300 {
        let url = client.current_url().await.unwrap();
        let here = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        if url.path() != path {
            return here;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser never left {path}");
}

/// Signs this browser up through the real `/sign-up` form at `base` (the test server's
/// address; a policy must be published, see `web_session::ensure_policy`), ticking the 18+
/// and policy boxes. Returns where sign-up led (`/onboarding`).
pub async fn sign_up(client: &Client, base: &str, email: &str, password: &str) -> String {
    open(
        client,
        &format!("{base}/sign-up"),
        "form[action='/sign-up']",
    )
    .await;
    fill(client, "name", "Ayşe Yılmaz").await;
    fill(client, "email", email).await;
    fill(client, "password", password).await;
    fill(client, "business_name", "Kadıköy Fırını").await;
    fill(client, "sector", "fırın").await;
    click(client, "#age_confirmed").await;
    click(client, "#accept_policy").await;
    click(client, "form[action='/sign-up'] button[type=submit]").await;
    left(client, "/sign-up").await
}

/// Signs this browser in through `/sign-in` at `base`; returns where it led.
pub async fn sign_in(client: &Client, base: &str, email: &str, password: &str) -> String {
    open(
        client,
        &format!("{base}/sign-in"),
        "form[action='/sign-in']",
    )
    .await;
    fill(client, "email", email).await;
    fill(client, "password", password).await;
    click(client, "form[action='/sign-in'] button[type=submit]").await;
    left(client, "/sign-in").await
}
