//! Why a PostgreSQL server cannot be reached, in the operator's words (issue 18): sqlx reports
//! a refused or unanswered connection as "pool timed out while waiting for an open
//! connection", which names neither the cause nor the address. A plain TCP connection to the
//! URL's host and port tells which it is.

use std::time::Duration;

use url::Url;

use crate::config::{Backend, DatabaseUrl};

/// How long the probe waits for the server to accept a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The host and port a `postgres://` URL points at (port 5432 when none is given); `None`
/// for SQLite, a URL without a host (a Unix socket) or an unparsable one.
pub fn postgres_address(url: &DatabaseUrl) -> Option<(String, u16)> {
    if url.backend() != Backend::Postgres {
        return None;
    }
    let parsed = Url::parse(url.expose()).ok()?;
    let host = parsed.host_str().filter(|h| !h.is_empty())?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    Some((host, parsed.port().unwrap_or(5432)))
}

/// A sentence naming why the database at `url` is unreachable ("connection refused to
/// db.internal:5432"), or `None` when its port accepts connections (the server answered:
/// the driver's own error, e.g. a refused password, says the rest) or the URL has no TCP
/// address. Never includes the URL's password.
pub async fn unreachable_reason(url: &DatabaseUrl) -> Option<String> {
    let (host, port) = postgres_address(url)?;
    let address = format!("{host}:{port}");
    let addresses = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(addresses) => addresses.collect::<Vec<_>>(),
        Err(error) => return Some(format!("cannot resolve the host {host}: {error}")),
    };
    if addresses.is_empty() {
        return Some(format!("the host {host} has no address"));
    }
    let mut last = None;
    for candidate in addresses {
        match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(candidate)).await {
            Ok(Ok(_)) => return None,
            Ok(Err(error)) => last = Some(error),
            Err(_) => {
                return Some(format!(
                    "no answer from {address} within {} s (a firewall, or the server is down)",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
        }
    }
    let error = last?;
    Some(match error.kind() {
        std::io::ErrorKind::ConnectionRefused => format!("connection refused to {address}"),
        _ => format!("cannot connect to {address}: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(value: &str) -> DatabaseUrl {
        DatabaseUrl::parse(value).unwrap()
    }

    #[test]
    fn the_address_is_the_urls_host_and_port_with_postgres_default() {
        assert_eq!(
            postgres_address(&url("postgres://app:secret@db.internal:6543/kraftsoci")),
            Some(("db.internal".to_owned(), 6543))
        );
        assert_eq!(
            postgres_address(&url("postgresql://app@10.0.0.5/kraftsoci")),
            Some(("10.0.0.5".to_owned(), 5432))
        );
        assert_eq!(
            postgres_address(&url("postgres://app@[::1]:5433/k")),
            Some(("::1".to_owned(), 5433))
        );
        assert_eq!(postgres_address(&url("sqlite://kraftsoci.db")), None);
        assert_eq!(
            postgres_address(&url("postgres:///k?host=/run/postgresql")),
            None
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_reported_as_connection_refused_with_its_address() {
        // A port that was free a moment ago: nothing listens there now.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let reason = unreachable_reason(&url(&format!(
            "postgres://app:hunter2@127.0.0.1:{port}/kraftsoci"
        )))
        .await
        .expect("a closed port is unreachable");
        assert_eq!(reason, format!("connection refused to 127.0.0.1:{port}"));
        assert!(!reason.contains("hunter2"));
    }

    #[tokio::test]
    async fn a_listening_port_is_reachable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(
            unreachable_reason(&url(&format!("postgres://app@127.0.0.1:{port}/k"))).await,
            None
        );
    }
}
