//! `kraftsoci-server healthcheck`: asks the server on this host for `/healthz` and exits 0 only
//! on `200 OK`.
//!
//! Container images run it as their `HEALTHCHECK` (the runtime image carries no curl or wget).
//! It reads only `KRAFTSOCI_LISTEN`, so it works with a configuration that the full loader
//! would refuse, and it never prints a secret: the only thing it knows is an address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// How long the probe waits for the whole answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The address to probe for a listen address: a wildcard bind (`0.0.0.0`, `::`) is reached on
/// the loopback of the same family.
///
/// # Errors
/// A message naming the value when it is not `host:port` with an IP host.
pub fn target(listen: &str) -> Result<SocketAddr, String> {
    let mut address: SocketAddr = listen
        .trim()
        .parse()
        .map_err(|_| format!("KRAFTSOCI_LISTEN is not an ip:port address: {listen:?}"))?;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(address)
}

/// Asks `http://{address}/healthz`.
///
/// # Errors
/// What went wrong, in one line: no answer within [`TIMEOUT`], the connection refused, or a
/// status other than 200.
pub async fn probe(address: SocketAddr) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|error| format!("http client: {error}"))?;
    let response = client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .map_err(|error| format!("no answer from {address}: {}", error.without_url()))?;
    match response.status() {
        reqwest::StatusCode::OK => Ok(()),
        status => Err(format!("{address}/healthz answered {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;

    async fn serve(status: StatusCode) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new().route("/healthz", get(move || async move { status }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    }

    #[test]
    fn a_wildcard_bind_is_probed_on_the_loopback_of_its_family() {
        assert_eq!(
            target("0.0.0.0:8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(target("[::]:9000").unwrap(), "[::1]:9000".parse().unwrap());
        assert_eq!(
            target("10.0.0.5:80").unwrap(),
            "10.0.0.5:80".parse().unwrap()
        );
    }

    #[test]
    fn a_listen_value_that_is_not_an_address_is_named() {
        let error = target("localhost").unwrap_err();
        assert!(
            error.contains("KRAFTSOCI_LISTEN") && error.contains("localhost"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn only_200_is_healthy() {
        assert_eq!(probe(serve(StatusCode::OK).await).await, Ok(()));
        let error = probe(serve(StatusCode::SERVICE_UNAVAILABLE).await)
            .await
            .unwrap_err();
        assert!(error.contains("503"), "{error}");
    }

    #[tokio::test]
    async fn nobody_listening_is_unhealthy() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let error = probe(address).await.unwrap_err();
        assert!(error.contains("no answer"), "{error}");
    }
}
