//! CORS: which origins may call the API from a browser.

/// Parsed `cors_origins` variable: a comma-separated list of origins, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsPolicy {
    None,
    Any,
    Origins(Vec<String>),
}

pub const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE, OPTIONS";
pub const ALLOW_HEADERS: &str = "authorization, content-type, x-request-id";
pub const EXPOSE_HEADERS: &str = "x-request-id, retry-after, ratelimit-policy, ratelimit";
pub const MAX_AGE_SECS: &str = "600";

impl CorsPolicy {
    pub fn parse(setting: &str) -> CorsPolicy {
        let origins: Vec<String> = setting
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.iter().any(|o| o == "*") {
            CorsPolicy::Any
        } else if origins.is_empty() {
            CorsPolicy::None
        } else {
            CorsPolicy::Origins(origins)
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if allowed.
    pub fn allow_origin(&self, origin: Option<&str>) -> Option<String> {
        let origin = origin?;
        match self {
            CorsPolicy::None => None,
            CorsPolicy::Any => Some("*".to_string()),
            CorsPolicy::Origins(list) => list
                .iter()
                .find(|o| o.eq_ignore_ascii_case(origin))
                .map(|_| origin.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_setting_allows_nobody() {
        assert_eq!(CorsPolicy::parse(" "), CorsPolicy::None);
        assert_eq!(
            CorsPolicy::parse("").allow_origin(Some("https://a.test")),
            None
        );
    }

    #[test]
    fn listed_origins_only() {
        let p = CorsPolicy::parse("https://shop.test, https://admin.test/");
        assert_eq!(
            p.allow_origin(Some("https://admin.test")).as_deref(),
            Some("https://admin.test")
        );
        assert_eq!(p.allow_origin(Some("https://evil.test")), None);
        assert_eq!(p.allow_origin(None), None);
    }

    #[test]
    fn star_allows_any() {
        let p = CorsPolicy::parse("*");
        assert_eq!(p.allow_origin(Some("https://x.test")).as_deref(), Some("*"));
    }
}
