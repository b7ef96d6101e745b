//! Who is calling: the client address (trusting `X-Forwarded-For` only from configured
//! proxies) and the user agent.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::config::IpNet;
use crate::state::AppState;

/// The longest user agent kept (P06 logs it; a browser's is far shorter).
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// The client's address.
///
/// Without trusted proxies it is the TCP peer, whatever the headers say, so a spoofed
/// `X-Forwarded-For` changes nothing. When the peer is a trusted proxy, the
/// `X-Forwarded-For` chain is read from the right, skipping trusted proxies; the first
/// address that is not one is the client. `Forwarded` and `X-Real-IP` are not read: configure
/// the proxy to set `X-Forwarded-For`.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = crate::config::canonical_ip(peer?);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut client = peer;
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // A garbled entry: stop at the last address a trusted proxy vouched for.
            break;
        };
        client = crate::config::canonical_ip(ip);
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The caller's address and user agent, for the usage log (P06) and consent receipts (P09).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client address, if known.
    pub ip: Option<IpAddr>,
    /// The `User-Agent`, truncated.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Reads the caller from request parts.
    pub fn from_parts(parts: &Parts, trusted: &[IpNet]) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        Self {
            ip: client_ip(peer, &parts.headers, trusted),
            user_agent: parts
                .headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
        }
    }

    /// The address as text.
    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self::from_parts(parts, &state.config.trusted_proxies))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let spoofed = headers(&["1.2.3.4"]);
        assert_eq!(
            client_ip(Some(ip("203.0.113.5")), &spoofed, &[]),
            Some(ip("203.0.113.5"))
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The client forged the first entry; the proxies appended the real ones.
        let chain = headers(&["6.6.6.6, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &chain, &trusted),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &headers(&[]), &trusted),
            Some(ip("10.0.0.1")),
            "no header: the proxy itself"
        );
        assert_eq!(
            client_ip(
                Some(ip("10.0.0.1")),
                &headers(&["not-an-ip, 10.0.0.3"]),
                &trusted
            ),
            Some(ip("10.0.0.3")),
            "garbage stops the walk"
        );
        assert_eq!(
            client_ip(
                Some(ip("::ffff:10.0.0.1")),
                &headers(&["[2001:db8::1]:4711"]),
                &trusted
            ),
            Some(ip("2001:db8::1"))
        );
    }
}
