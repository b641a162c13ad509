//! A built single-page app served from memory. The files are embedded at
//! build time with their content type, strong ETag and gzip form already
//! computed, so a request costs no I/O and no hashing: [`serve`] only picks
//! the file, the encoding and the status.
//!
//! Paths (fixed by `spin.toml`): `/` and everything under `/app/` is the
//! app's HTML entry (the client routes it); `/assets/<file>` are Vite's
//! content-hashed files, cached for a year; anything else is not ours.

mod etag;
mod media;

pub use etag::{etag_of, matches_any};
pub use media::{compressible, content_type};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The URL path, e.g. `/assets/index-3f9a1c.js` or `/index.html`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// Strong ETag of `body`, quoted.
    pub etag: &'static str,
    pub body: &'static [u8],
    /// The gzip form and its ETag, when it is smaller.
    pub gzip: Option<(&'static str, &'static [u8])>,
}

/// The app's HTML entry; every app route answers with it.
pub const INDEX: &str = "/index.html";
/// Hashed file names never change content: cache them for a year.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The entry must be revalidated every time (it names the current hashes).
pub const REVALIDATE: &str = "no-cache";

/// What the request asks; header values as received.
#[derive(Debug, Default, Clone, Copy)]
pub struct Request<'r> {
    pub method: &'r str,
    pub path: &'r str,
    pub if_none_match: Option<&'r str>,
    pub accept_encoding: Option<&'r str>,
}

/// A response to send.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: &'static [u8],
    /// The app's entry document (a page), not one of its files: the one
    /// answer that carries the document's policies.
    pub is_entry: bool,
}

/// Why nothing is served.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not an app route and not an embedded asset (404).
    NotFound,
    /// Only GET and HEAD read files (405 with this `Allow`).
    MethodNotAllowed { allow: &'static str },
    /// The component was built before the app was (`cargo xtask build`).
    NotBuilt,
}

/// Which file a path means.
fn file_for(path: &str) -> Option<&str> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    if path.is_empty() || path == "/" || path == "/app" || path.starts_with("/app/") {
        Some(INDEX)
    } else if path.starts_with("/assets/") {
        Some(path)
    } else {
        None
    }
}

fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|value| {
        value.split(',').any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        })
    })
}

/// Answers `req` from `assets`.
pub fn serve(assets: &'static [Asset], req: &Request) -> Result<Response, Refusal> {
    let Some(wanted) = file_for(req.path) else {
        return Err(Refusal::NotFound);
    };
    if req.method != "GET" && req.method != "HEAD" {
        return Err(Refusal::MethodNotAllowed { allow: "GET, HEAD" });
    }
    let Some(asset) = assets.iter().find(|a| a.path == wanted) else {
        return Err(if wanted == INDEX {
            Refusal::NotBuilt
        } else {
            Refusal::NotFound
        });
    };
    let (etag, body, gzipped) = match asset.gzip {
        Some((etag, body)) if accepts_gzip(req.accept_encoding) => (etag, body, true),
        _ => (asset.etag, asset.body, false),
    };
    let is_entry = asset.path == INDEX;
    let cache = if is_entry { REVALIDATE } else { IMMUTABLE };
    let mut headers = vec![
        ("etag", etag.to_string()),
        ("cache-control", cache.to_string()),
    ];
    if asset.gzip.is_some() {
        headers.push(("vary", "accept-encoding".to_string()));
    }
    if req.if_none_match.is_some_and(|v| matches_any(v, etag)) {
        return Ok(Response {
            status: 304,
            headers,
            body: &[],
            is_entry,
        });
    }
    headers.push(("content-type", asset.content_type.to_string()));
    headers.push(("x-content-type-options", "nosniff".to_string()));
    if gzipped {
        headers.push(("content-encoding", "gzip".to_string()));
    }
    Ok(Response {
        status: 200,
        headers,
        body: if req.method == "HEAD" { &[] } else { body },
        is_entry,
    })
}

#[cfg(test)]
mod tests;
