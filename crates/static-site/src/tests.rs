use super::*;

static INDEX_HTML: &[u8] = b"<!doctype html><title>shop</title>";
static INDEX_GZ: &[u8] = b"gzipped-index";
static APP_JS: &[u8] = b"console.log('shop')";

static SITE: &[Asset] = &[
    Asset {
        path: INDEX,
        content_type: "text/html; charset=utf-8",
        etag: "\"index\"",
        body: INDEX_HTML,
        gzip: Some(("\"index-gz\"", INDEX_GZ)),
    },
    Asset {
        path: "/assets/app-1a2b.js",
        content_type: "text/javascript; charset=utf-8",
        etag: "\"app\"",
        body: APP_JS,
        gzip: None,
    },
];

fn get(path: &str) -> Request<'_> {
    Request {
        method: "GET",
        path,
        ..Request::default()
    }
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn app_routes_fall_back_to_the_entry_which_is_revalidated() {
    for path in ["/", "", "/app", "/app/", "/app/orders/12", "/app/cart?x=1"] {
        let r = serve(SITE, &get(path)).unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, INDEX_HTML, "{path}");
        assert_eq!(header(&r, "cache-control"), Some(REVALIDATE));
        assert_eq!(header(&r, "content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(header(&r, "etag"), Some("\"index\""));
        assert!(r.is_entry, "{path} is a page");
    }
}

#[test]
fn hashed_assets_are_immutable_and_typed() {
    let r = serve(SITE, &get("/assets/app-1a2b.js")).unwrap();
    assert_eq!(r.body, APP_JS);
    assert_eq!(header(&r, "cache-control"), Some(IMMUTABLE));
    assert_eq!(
        header(&r, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&r, "vary"), None, "no gzip form, nothing varies");
    assert!(!r.is_entry, "a file, not a page");
}

#[test]
fn unknown_files_and_foreign_paths_are_not_found() {
    for path in [
        "/assets/nope.js",
        "/assets/../index.html",
        "/index.html",
        "/application",
        "/api/product",
        "/favicon.ico",
    ] {
        assert_eq!(serve(SITE, &get(path)), Err(Refusal::NotFound), "{path}");
    }
}

#[test]
fn only_get_and_head_read() {
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let req = Request {
            method,
            path: "/app/cart",
            ..Request::default()
        };
        assert_eq!(
            serve(SITE, &req),
            Err(Refusal::MethodNotAllowed { allow: "GET, HEAD" })
        );
    }
    let head = Request {
        method: "HEAD",
        path: "/assets/app-1a2b.js",
        ..Request::default()
    };
    let r = serve(SITE, &head).unwrap();
    assert_eq!((r.status, r.body), (200, &[][..]));
    assert_eq!(header(&r, "etag"), Some("\"app\""));
}

#[test]
fn a_matching_etag_is_304_with_no_body() {
    for inm in ["\"app\"", "W/\"app\"", "\"old\", \"app\"", "*"] {
        let req = Request {
            if_none_match: Some(inm),
            ..get("/assets/app-1a2b.js")
        };
        let r = serve(SITE, &req).unwrap();
        assert_eq!(r.status, 304, "{inm}");
        assert!(r.body.is_empty());
        assert_eq!(header(&r, "etag"), Some("\"app\""));
        assert_eq!(header(&r, "cache-control"), Some(IMMUTABLE));
    }
    let stale = Request {
        if_none_match: Some("\"old\""),
        ..get("/assets/app-1a2b.js")
    };
    assert_eq!(serve(SITE, &stale).unwrap().status, 200);
}

#[test]
fn gzip_is_chosen_when_accepted_with_its_own_etag() {
    let req = Request {
        accept_encoding: Some("br, gzip;q=0.8"),
        ..get("/")
    };
    let r = serve(SITE, &req).unwrap();
    assert_eq!(r.body, INDEX_GZ);
    assert_eq!(header(&r, "content-encoding"), Some("gzip"));
    assert_eq!(header(&r, "etag"), Some("\"index-gz\""));
    assert_eq!(header(&r, "vary"), Some("accept-encoding"));
    // The identity form's tag does not validate the gzip form.
    let revalidate = Request {
        if_none_match: Some("\"index\""),
        ..req
    };
    assert_eq!(serve(SITE, &revalidate).unwrap().status, 200);
    for refused in [None, Some("br"), Some("gzip;q=0"), Some("GZIP; q=0.000")] {
        let r = serve(
            SITE,
            &Request {
                accept_encoding: refused,
                ..get("/")
            },
        )
        .unwrap();
        assert_eq!(r.body, INDEX_HTML, "{refused:?}");
        assert_eq!(header(&r, "content-encoding"), None);
    }
}

#[test]
fn an_unbuilt_site_says_so() {
    assert_eq!(serve(&[], &get("/")), Err(Refusal::NotBuilt));
    assert_eq!(serve(&[], &get("/assets/x.js")), Err(Refusal::NotFound));
}

#[test]
fn etags_are_content_hashes() {
    assert_eq!(etag_of(b"a"), etag_of(b"a"));
    assert_ne!(etag_of(b"a"), etag_of(b"b"));
    assert_eq!(etag_of(b"").len(), 34);
    assert!(matches_any("W/\"x\"", "\"x\""));
    assert!(!matches_any("\"y\"", "\"x\""));
}

#[test]
fn content_types_cover_a_vite_build() {
    assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
    assert_eq!(content_type("a.CSS"), "text/css; charset=utf-8");
    assert_eq!(content_type("logo.svg"), "image/svg+xml");
    assert_eq!(content_type("noext"), "application/octet-stream");
    assert!(compressible("text/javascript; charset=utf-8"));
    assert!(!compressible("image/png"));
}
