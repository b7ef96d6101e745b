//! Network-shaped settings: trusted proxy ranges, CORS origins and rate limits.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

/// An IP network in CIDR notation (`10.0.0.0/8`, `::1/128`); a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in this network. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`)
    /// match the IPv4 network they map to, since dual-stack listeners report them.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; anything else unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}` has an invalid prefix length"))?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No cross-origin access (the default: a same-origin frontend needs none).
    None,
    /// Any origin (`*`); refused together with credentials.
    Any,
    /// Exactly these origins (`scheme://host[:port]`).
    List(Vec<String>),
}

/// CORS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// Allowed origins.
    pub origins: CorsOrigins,
    /// Whether browsers may send credentials (cookies, HTTP auth) cross-origin. The API uses
    /// bearer tokens, so this is off unless a frontend needs it.
    pub allow_credentials: bool,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            origins: CorsOrigins::None,
            allow_credentials: false,
        }
    }
}

impl CorsConfig {
    /// Checks the combination a browser would refuse anyway (and tower-http would panic on):
    /// a wildcard origin with credentials.
    ///
    /// # Errors
    /// A sentence naming the problem.
    pub fn validate(&self) -> Result<(), String> {
        if self.allow_credentials && self.origins == CorsOrigins::Any {
            return Err("a wildcard origin (`*`) cannot be combined with credentials".to_owned());
        }
        Ok(())
    }
}

/// Parses a comma-separated origin list: empty → none, `*` → any, else exact origins.
pub(crate) fn parse_origins(value: &str) -> Result<CorsOrigins, String> {
    let items: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Ok(CorsOrigins::None);
    }
    if items.contains(&"*") {
        if items.len() > 1 {
            return Err("`*` cannot be mixed with explicit origins".to_owned());
        }
        return Ok(CorsOrigins::Any);
    }
    let mut origins = Vec::with_capacity(items.len());
    for item in items {
        let url = url::Url::parse(item).map_err(|_| format!("`{item}` is not an origin"))?;
        let is_origin = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && !item.trim_end_matches('/').contains("/*");
        if !is_origin || item.ends_with('/') {
            return Err(format!(
                "`{item}` is not an origin (expected scheme://host[:port], no path)"
            ));
        }
        origins.push(url.origin().ascii_serialization());
    }
    Ok(CorsOrigins::List(origins))
}

/// A GCRA rate: a burst of `burst` requests, then one more every `refill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed at once from a full bucket.
    pub burst: u32,
    /// The time in which one request is regained.
    pub refill: Duration,
}

impl FromStr for RateLimit {
    type Err = String;

    /// `BURST/SECONDS`, e.g. `10/6`: a burst of ten, one more every six seconds.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("`{s}` is not BURST/SECONDS (e.g. 10/6)");
        let (burst, secs) = s.trim().split_once('/').ok_or_else(invalid)?;
        let burst: u32 = burst.trim().parse().map_err(|_| invalid())?;
        let secs: f64 = secs.trim().parse().map_err(|_| invalid())?;
        if burst == 0 || !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
            return Err(invalid());
        }
        Ok(Self {
            burst,
            refill: Duration::from_secs_f64(secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges_contain_their_addresses_only() {
        let net: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        let single: IpNet = "127.0.0.1".parse().unwrap();
        assert!(single.contains("127.0.0.1".parse().unwrap()));
        assert!(!single.contains("127.0.0.2".parse().unwrap()));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", ""] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn origins_must_be_exact_origins() {
        assert_eq!(parse_origins("").unwrap(), CorsOrigins::None);
        assert_eq!(parse_origins(" * ").unwrap(), CorsOrigins::Any);
        assert_eq!(
            parse_origins("https://app.example.com, http://localhost:5173").unwrap(),
            CorsOrigins::List(vec![
                "https://app.example.com".to_owned(),
                "http://localhost:5173".to_owned()
            ])
        );
        for bad in [
            "https://app.example.com/path",
            "app.example.com",
            "*,https://a.example",
            "ftp://a.example",
            "https://a.example/",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcard_with_credentials_is_refused() {
        let cors = CorsConfig {
            origins: CorsOrigins::Any,
            allow_credentials: true,
        };
        assert!(cors.validate().is_err());
    }

    #[test]
    fn rates_parse_as_burst_over_seconds() {
        let rate: RateLimit = "10/6".parse().unwrap();
        assert_eq!(rate.burst, 10);
        assert_eq!(rate.refill, Duration::from_secs(6));
        for bad in ["0/6", "10/0", "10", "a/b", "10/-1"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }
}
