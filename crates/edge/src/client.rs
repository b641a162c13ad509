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

use component_support::config;
use platform_core::ServiceError;
use spin_sdk::http::IncomingRequest;

use crate::context::header;
use crate::settings::TRUSTED_PROXY_HOPS;

pub fn address(req: &IncomingRequest) -> Result<Option<String>, ServiceError> {
    let peer = header(req, "spin-client-addr").map(|a| strip_port(&a).to_string());
    let Some(forwarded) = header(req, "x-forwarded-for") else {
        return Ok(peer);
    };
    // Within 0..=16 by the setting's bounds.
    let hops = usize::try_from(config::get(&TRUSTED_PROXY_HOPS)?).unwrap_or(0);
    Ok(forwarded_address(&forwarded, hops).or(peer))
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
    fn only_entries_our_proxies_wrote_are_trusted() {
        let h = "6.6.6.6, 1.2.3.4, 10.0.0.2";
        assert_eq!(forwarded_address(h, 0), None);
        assert_eq!(forwarded_address(h, 1).as_deref(), Some("10.0.0.2"));
        assert_eq!(forwarded_address(h, 2).as_deref(), Some("1.2.3.4"));
        assert_eq!(forwarded_address(h, 3).as_deref(), Some("6.6.6.6"));
        assert_eq!(forwarded_address(h, 4), None);
    }
}
