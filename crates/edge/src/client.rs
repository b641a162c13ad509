//! The client's address, for per-address limits (brute force, anonymous
//! reads).
//!
//! Spin gives the TCP peer (`spin-client-addr`, `ip:port`). Behind a load
//! balancer or an ingress that peer is the proxy, and every client would
//! share one bucket; then `trusted_proxy_hops` (default 0) says how many
//! proxies of ours append to `X-Forwarded-For`, and the address is the one
//! the outermost of them saw. Entries further left were written by the
//! client and are never trusted. The variable is read only when the header
//! is present (a host call on Spin).
//!
//! Buckets count an IPv6 client by its /64: one subscriber gets a whole /64
//! (2^64 addresses), so a bucket per address would be no limit at all.

use component_support::config;
use platform_core::ServiceError;
use spin_sdk::http::IncomingRequest;

use crate::context::header;
use crate::settings::TRUSTED_PROXY_HOPS;

/// The client's address as its buckets count it: an IPv4 address, or the
/// /64 of an IPv6 one (`2001:db8:1:2::/64`).
pub fn address(req: &IncomingRequest) -> Result<Option<String>, ServiceError> {
    let peer = header(req, "spin-client-addr").map(|a| strip_port(&a).to_string());
    let address = match header(req, "x-forwarded-for") {
        None => peer,
        Some(forwarded) => {
            // Within 0..=16 by the setting's bounds.
            let hops = usize::try_from(config::get(&TRUSTED_PROXY_HOPS)?).unwrap_or(0);
            forwarded_address(&forwarded, hops).or(peer)
        }
    };
    Ok(address.map(|a| bucket_subject(&a)))
}

/// IPv4 as it is; IPv6 as its /64 (an IPv4-mapped one as the IPv4);
/// anything unparsable as it came (bounded by the callers).
fn bucket_subject(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                let net = std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
        Err(_) => address.to_string(),
    }
}

/// With `hops` trusted proxies, the `hops`-th entry from the right of
/// `X-Forwarded-For` (the peer itself is the last proxy).
fn forwarded_address(header: &str, hops: usize) -> Option<String> {
    if hops == 0 {
        return None;
    }
    let entries: Vec<&str> = header.split(',').map(str::trim).collect();
    let entry = entries.len().checked_sub(hops).map(|i| entries[i])?;
    let ip = strip_port(entry);
    (!ip.is_empty() && ip.len() <= 64).then(|| ip.to_string())
}

/// `1.2.3.4:80` → `1.2.3.4`, `[::1]:80` → `::1`, `::1` stays.
fn strip_port(addr: &str) -> &str {
    let addr = addr.trim();
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((ip, port)) if !ip.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => ip,
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("10.0.0.1:5555"), "10.0.0.1");
        assert_eq!(strip_port("[::1]:5555"), "::1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(bucket_subject("203.0.113.9"), "203.0.113.9");
        assert_eq!(
            bucket_subject("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            bucket_subject("2001:db8:1:2::1"),
            bucket_subject("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "one /64, one bucket"
        );
        assert_ne!(
            bucket_subject("2001:db8:1:2::1"),
            bucket_subject("2001:db8:1:3::1")
        );
        assert_eq!(bucket_subject("::ffff:198.51.100.7"), "198.51.100.7");
        assert_eq!(bucket_subject("::1"), "::/64");
        assert_eq!(bucket_subject("not-an-ip"), "not-an-ip");
    }

    #[test]
    fn only_entries_our_proxies_wrote_are_trusted() {
        let h = "6.6.6.6, 1.2.3.4, 10.0.0.2";
        assert_eq!(forwarded_address(h, 0), None);
        assert_eq!(forwarded_address(h, 1).as_deref(), Some("10.0.0.2"));
        assert_eq!(forwarded_address(h, 2).as_deref(), Some("1.2.3.4"));
        assert_eq!(forwarded_address(h, 3).as_deref(), Some("6.6.6.6"));
        assert_eq!(forwarded_address(h, 4), None);
    }
}
