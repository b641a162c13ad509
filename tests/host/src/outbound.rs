//! `allowed_outbound_hosts`: `scheme://host[:port]` patterns, as Spin 3.6
//! reads them (templates already expanded against application variables).

use anyhow::{bail, Context};

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`: any subdomain.
    Suffix(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    /// Inclusive start, exclusive end (`a..b`); a single port is `p..p+1`.
    Range(u16, u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

/// The parsed allow-list of one component.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
}

/// Spin's default ports by scheme (`rediss` has none: it must be explicit).
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedHosts {
    pub fn parse(patterns: &[String]) -> anyhow::Result<AllowedHosts> {
        let entries = patterns
            .iter()
            .map(|p| parse_one(p).with_context(|| format!("allowed_outbound_hosts entry {p:?}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(AllowedHosts { entries })
    }

    /// Whether `scheme://host:port` may be reached.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.entries.iter().any(|e| {
            e.scheme.as_deref().is_none_or(|s| s == scheme)
                && match &e.host {
                    HostPattern::Any => true,
                    HostPattern::Exact(h) => *h == host,
                    HostPattern::Suffix(s) => host.ends_with(&format!(".{s}")),
                }
                && match e.port {
                    PortPattern::Any => true,
                    PortPattern::Range(lo, hi) => port >= lo && u32::from(port) < hi,
                }
        })
    }
}

fn parse_one(pattern: &str) -> anyhow::Result<AllowedHost> {
    if pattern == "insecure:allow-all" {
        bail!("`insecure:allow-all` is not accepted; use \"*://*:*\"");
    }
    let (scheme, rest) = pattern
        .split_once("://")
        .context("expected scheme://host[:port]")?;
    if rest.contains('/') && !rest.ends_with('/') {
        bail!("a path is not allowed");
    }
    let rest = rest.trim_end_matches('/');
    let scheme = match scheme {
        "*" => None,
        s if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()) => Some(s.to_string()),
        _ => bail!("invalid scheme {scheme:?}"),
    };
    let (host, port) = split_host_port(rest);
    let host = match host {
        "*" => HostPattern::Any,
        h if h.starts_with("*.") => HostPattern::Suffix(h[2..].to_ascii_lowercase()),
        "" => bail!("missing host"),
        h if h.contains('*') => bail!("invalid wildcard in host {h:?}"),
        h => HostPattern::Exact(
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
        ),
    };
    let port = match port {
        Some("*") => PortPattern::Any,
        Some(p) if p.contains("..") => {
            let (lo, hi) = p.split_once("..").unwrap_or_default();
            PortPattern::Range(lo.parse()?, hi.parse()?)
        }
        Some(p) => {
            let p: u16 = p.parse().with_context(|| format!("invalid port {p:?}"))?;
            PortPattern::Range(p, u32::from(p) + 1)
        }
        None => {
            let Some(s) = scheme.as_deref() else {
                bail!("a port is required with scheme `*`")
            };
            let p = default_port(s).with_context(|| format!("scheme {s} has no default port"))?;
            PortPattern::Range(p, u32::from(p) + 1)
        }
    };
    Ok(AllowedHost { scheme, host, port })
}

fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(end) = s.strip_prefix('[').and_then(|r| r.find(']')) {
        let host = &s[..end + 2];
        let port = s[end + 2..].strip_prefix(':');
        return (host, port);
    }
    match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(p: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn exact_host_and_default_port() {
        let h = hosts(&["postgres://127.0.0.1", "redis://localhost:6380"]);
        assert!(h.allows("postgres", "127.0.0.1", 5432));
        assert!(!h.allows("postgres", "127.0.0.1", 5433));
        assert!(!h.allows("redis", "127.0.0.1", 6379));
        assert!(h.allows("redis", "LOCALHOST", 6380));
        assert!(!h.allows("http", "127.0.0.1", 5432));
    }

    #[test]
    fn wildcards_and_ranges() {
        let h = hosts(&[
            "https://*.midtrans.com",
            "*://*:*",
            "http://a.test:8000..8002",
        ]);
        assert!(h.allows("https", "app.sandbox.midtrans.com", 443));
        let h = hosts(&["https://*.midtrans.com", "http://a.test:8000..8002"]);
        assert!(!h.allows("https", "midtrans.com.evil.test", 443));
        assert!(h.allows("http", "a.test", 8001));
        assert!(!h.allows("http", "a.test", 8002));
        assert!(hosts(&["*://*:*"]).allows("redis", "x", 1));
    }

    #[test]
    fn empty_list_allows_nothing() {
        assert!(!hosts(&[]).allows("http", "localhost", 80));
    }

    #[test]
    fn refuses_what_spin_refuses() {
        for bad in [
            "insecure:allow-all",
            "postgres://h/db",
            "rediss://h",
            "*://h",
            "1http://h",
            "http://",
        ] {
            assert!(AllowedHosts::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
