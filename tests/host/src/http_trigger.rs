//! The HTTP trigger, as Spin 3.6.3 serves it: routes from `[[trigger.http]]`,
//! `/.well-known/spin/*` answered by the host, Spin's `spin-*` headers, a
//! fresh instance per request, and an empty 500 when the guest traps or
//! never sets a response.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

use crate::runtime::{new_store, ComponentConfig, HostState, Services};
use crate::stats::Stats;

/// Exact over wildcard, then more segments, then more literal segments.
type Priority = (u8, usize, usize);
/// `:name` segments and what they matched.
type Captures = Vec<(String, String)>;

/// One `[[trigger.http]]` route.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    pub route: String,
    pub component: String,
    segments: Vec<String>,
    wildcard: bool,
}

impl RouteEntry {
    pub fn new(route: &str, component: &str) -> RouteEntry {
        let trimmed = route.trim_end_matches("/...").trim_end_matches("/*");
        let wildcard = trimmed.len() != route.len();
        let segments = trimmed
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        RouteEntry {
            route: route.to_string(),
            component: component.to_string(),
            segments,
            wildcard,
        }
    }

    /// On a match: its priority, and the `:name` captures.
    fn matches(&self, path: &str) -> Option<(Priority, Captures)> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if parts.len() < self.segments.len()
            || (!self.wildcard && parts.len() != self.segments.len())
        {
            return None;
        }
        let mut captures = Vec::new();
        let mut literal = 0;
        for (seg, part) in self.segments.iter().zip(&parts) {
            if let Some(name) = seg.strip_prefix(':') {
                captures.push((name.to_string(), part.to_string()));
            } else if seg == part {
                literal += 1;
            } else {
                return None;
            }
        }
        // Exact routes beat wildcards; then more segments, then more literals.
        Some((
            (u8::from(!self.wildcard), self.segments.len(), literal),
            captures,
        ))
    }

    /// The path below the route's wildcard (`spin-path-info`).
    fn path_info(&self, path: &str) -> String {
        if !self.wildcard {
            return String::new();
        }
        let mut rest = path;
        for _ in &self.segments {
            rest = rest.trim_start_matches('/');
            rest = rest.find('/').map_or("", |i| &rest[i..]);
        }
        if rest.is_empty() && self.segments.is_empty() {
            path.to_string()
        } else {
            rest.to_string()
        }
    }
}

pub struct HttpApp {
    pub app_name: String,
    pub app_version: String,
    pub routes: Vec<RouteEntry>,
    pub handlers: HashMap<String, (ProxyPre<HostState>, Arc<ComponentConfig>)>,
    pub services: Arc<Services>,
}

fn body(bytes: impl Into<Bytes>) -> HyperOutgoingBody {
    Full::new(bytes.into())
        .map_err(|e: Infallible| match e {})
        .boxed_unsync()
}

fn plain(status: StatusCode, text: &'static str) -> Response<HyperOutgoingBody> {
    let mut r = Response::new(body(text));
    *r.status_mut() = status;
    r
}

impl HttpApp {
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> anyhow::Result<()> {
        loop {
            let (stream, peer) = listener.accept().await?;
            let app = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    async move { app.handle(req, peer).await }
                });
                if let Err(e) = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!("connection from {peer} ended: {e}");
                }
            });
        }
    }

    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
    ) -> anyhow::Result<Response<HyperOutgoingBody>> {
        let path = req.uri().path().to_string();
        if let Some(rest) = path.strip_prefix("/.well-known/spin/") {
            return Ok(match rest {
                "health" => plain(StatusCode::OK, "OK"),
                "info" => {
                    let info = serde_json::json!({
                        "name": self.app_name, "version": self.app_version, "oci_image_digest": null
                    });
                    let mut r = Response::new(body(info.to_string()));
                    r.headers_mut()
                        .insert("content-type", HeaderValue::from_static("application/json"));
                    r
                }
                _ => plain(StatusCode::NOT_FOUND, ""),
            });
        }
        let Some((route, captures)) = self
            .routes
            .iter()
            .filter_map(|r| r.matches(&path).map(|(score, caps)| (score, r, caps)))
            .max_by_key(|(score, _, _)| *score)
            .map(|(_, r, caps)| (r.clone(), caps))
        else {
            return Ok(plain(StatusCode::NOT_FOUND, ""));
        };
        let Some((pre, config)) = self.handlers.get(&route.component).cloned() else {
            return Ok(plain(StatusCode::NOT_FOUND, ""));
        };
        // Like Spin, a request without a Host cannot be given a URL.
        let Some(host) = req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
        else {
            anyhow::bail!("request without a Host header");
        };
        let req = with_spin_headers(req, &route, &captures, &host, peer)?;
        match self.run(pre, config, req).await {
            Ok(response) => Ok(response),
            Err(e) => {
                Stats::bump(&self.services.stats.traps);
                tracing::error!("Error processing request: {e:?}");
                Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, ""))
            }
        }
    }

    async fn run(
        &self,
        pre: ProxyPre<HostState>,
        config: Arc<ComponentConfig>,
        req: Request<Incoming>,
    ) -> anyhow::Result<Response<HyperOutgoingBody>> {
        let mut store = new_store(pre.engine(), config, self.services.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(tx)?;
        let task = tokio::spawn(async move {
            let result = async {
                let proxy = pre.instantiate_async(&mut store).await?;
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .await
            }
            .await;
            // Connections the guest still holds go back to the pool here.
            store.data_mut().release_pg_connections().await;
            result
        });
        match rx.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => anyhow::bail!("guest responded with an error code: {code:?}"),
            Err(_) => match task.await {
                Ok(Ok(())) => anyhow::bail!("guest never set a response"),
                Ok(Err(e)) => Err(anyhow::Error::from(e)),
                Err(e) => Err(e.into()),
            },
        }
    }
}

/// Spin's request headers, appended after the client's own.
fn with_spin_headers(
    mut req: Request<Incoming>,
    route: &RouteEntry,
    captures: &[(String, String)],
    host: &str,
    peer: SocketAddr,
) -> anyhow::Result<Request<Incoming>> {
    let path = req.uri().path().to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or(path.clone(), |p| p.to_string());
    let component_route = route.route.trim_end_matches("/...").to_string();
    let mut add = |name: &str, value: String| -> anyhow::Result<()> {
        req.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes())?,
            HeaderValue::from_str(&value)?,
        );
        Ok(())
    };
    add("spin-full-url", format!("http://{host}{path_and_query}"))?;
    add("spin-path-info", route.path_info(&path))?;
    add("spin-matched-route", route.route.clone())?;
    add("spin-base-path", "/".into())?;
    add("spin-raw-component-route", route.route.clone())?;
    add("spin-component-route", component_route)?;
    add("spin-client-addr", peer.to_string())?;
    for (name, value) in captures {
        add(&format!("spin-path-match-{name}"), value.clone())?;
    }
    // The guest's request URL needs an authority; hyper gives only a path.
    let uri = hyper::Uri::builder()
        .scheme("http")
        .authority(host)
        .path_and_query(path_and_query)
        .build()?;
    *req.uri_mut() = uri;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best<'a>(routes: &'a [RouteEntry], path: &str) -> Option<&'a str> {
        routes
            .iter()
            .filter_map(|r| r.matches(path).map(|(s, _)| (s, r)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, r)| r.component.as_str())
    }

    #[test]
    fn exact_beats_wildcard_and_longer_prefix_wins() {
        let routes = vec![
            RouteEntry::new("/...", "all"),
            RouteEntry::new("/api/...", "api"),
            RouteEntry::new("/api/health", "health"),
            RouteEntry::new("/users/:id", "user"),
        ];
        assert_eq!(best(&routes, "/"), Some("all"));
        assert_eq!(best(&routes, "/x/y"), Some("all"));
        assert_eq!(best(&routes, "/api"), Some("api"));
        assert_eq!(best(&routes, "/api/orders/1"), Some("api"));
        assert_eq!(best(&routes, "/api/health"), Some("health"));
        assert_eq!(best(&routes, "/users/7"), Some("user"));
        assert_eq!(best(&routes, "/users/7/x"), Some("all"));
    }

    #[test]
    fn path_info_is_below_the_wildcard() {
        assert_eq!(
            RouteEntry::new("/...", "a").path_info("/product/1"),
            "/product/1"
        );
        assert_eq!(
            RouteEntry::new("/api/...", "a").path_info("/api/product/1"),
            "/product/1"
        );
        assert_eq!(RouteEntry::new("/api/...", "a").path_info("/api"), "");
    }

    #[test]
    fn captures_named_segments() {
        let r = RouteEntry::new("/users/:id", "u");
        let (_, caps) = r.matches("/users/42").unwrap();
        assert_eq!(caps, vec![("id".to_string(), "42".to_string())]);
    }
}
