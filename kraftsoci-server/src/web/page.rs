//! [`Page`]: a rendered HTML document and the headers every page carries.

use askama::Template;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_LANGUAGE, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    RETRY_AFTER, SET_COOKIE, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::PageContext;

/// The Content-Security-Policy of every page: nothing loads unless it comes from this
/// origin, no inline script or style runs, forms post only here, and no one may frame the
/// page (a deletion or Publish button must not be clickjackable) or rebase its links.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                            img-src 'self'; connect-src 'self'; form-action 'self'; \
                            frame-ancestors 'none'; base-uri 'none'";

/// What a page may use of the browser's features: none of the powerful ones.
const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=()";

/// A page, ready to send: status, HTML and the cookies its context must set.
#[derive(Debug)]
pub struct Page {
    status: StatusCode,
    html: String,
    language: &'static str,
    cookies: Vec<HeaderValue>,
    retry_after: Option<u64>,
    csp: &'static str,
}

/// The policy of a page whose forms may also go to Stripe's hosted Checkout and Billing
/// Portal (a form's redirect target counts for `form-action`); otherwise [`PAGE_CSP`].
pub const BILLING_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                               img-src 'self'; form-action 'self' https://checkout.stripe.com \
                               https://billing.stripe.com; frame-ancestors 'none'; \
                               base-uri 'none'";

/// The document sent when a template fails to render (a `Display` of one of its values
/// failed): plain, in both languages, under the same policy.
const RENDER_FAILED: &str = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
<title>kraftsoci</title><h1>Something went wrong on our side</h1>\
<p>Please try again later.</p><p lang=\"tr\">Bizim tarafımızda bir sorun oluştu. Lütfen daha \
sonra yeniden deneyin.</p></html>";

impl Page {
    /// Renders `template` for `ctx` with `status`.
    pub fn render(ctx: &PageContext, status: StatusCode, template: &impl Template) -> Self {
        let (status, html) = match template.render() {
            Ok(html) => (status, html),
            Err(error) => {
                tracing::error!(%error, "a page failed to render");
                (StatusCode::INTERNAL_SERVER_ERROR, RENDER_FAILED.to_owned())
            }
        };
        Self {
            status,
            html,
            language: ctx.lang(),
            cookies: ctx.cookies(),
            retry_after: None,
            csp: PAGE_CSP,
        }
    }

    /// The same page under [`BILLING_CSP`].
    #[must_use]
    pub fn for_billing_forms(mut self) -> Self {
        self.csp = BILLING_CSP;
        self
    }

    /// Adds `Retry-After` (seconds, at least 1).
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The status.
    #[cfg(any(test, feature = "testing"))]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The document.
    #[cfg(any(test, feature = "testing"))]
    pub fn html(&self) -> &str {
        &self.html
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.html).into_response();
        let headers = response.headers_mut();
        let fixed = [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CONTENT_SECURITY_POLICY, self.csp),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (X_FRAME_OPTIONS, "DENY"),
            (REFERRER_POLICY, "no-referrer"),
            // Pages carry CSRF tokens and, once signed in, personal data.
            (CACHE_CONTROL, "no-store"),
            (VARY, "Accept-Language, Cookie"),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin",
            ),
            (
                HeaderName::from_static("permissions-policy"),
                PERMISSIONS_POLICY,
            ),
        ];
        for (name, value) in fixed {
            headers.insert(name, HeaderValue::from_static(value));
        }
        headers.insert(CONTENT_LANGUAGE, HeaderValue::from_static(self.language));
        for cookie in self.cookies {
            headers.append(SET_COOKIE, cookie);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
