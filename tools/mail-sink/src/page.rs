//! `GET /`: the mails kept, newest first, with their links clickable. Mail
//! content is untrusted, so every piece of it is escaped and only the http(s)
//! links found in it become anchors; the HTML body is shown as source.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Response;

use crate::{Message, Reply};

pub(crate) fn show(messages: &[Message]) -> Reply {
    Response::builder()
        .status(200)
        .header("content-type", "text/html; charset=utf-8")
        // The page shows what it was sent; nothing in it may run.
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        )
        .body(Full::new(Bytes::from(render(messages))))
        .unwrap()
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn render(messages: &[Message]) -> String {
    let mut main = format!(
        "<h1>Mail sink</h1>\n<p>{} mail(s), newest first. Nothing here was sent anywhere; \
         reload for new mail.</p>\n",
        messages.len()
    );
    for m in messages.iter().rev() {
        main += &format!(
            "<article>\n<h2>{}</h2>\n<dl>\n<dt>To</dt><dd>{}</dd>\n<dt>From</dt><dd>{}</dd>\n\
             <dt>Kind</dt><dd>{}</dd>\n<dt>Received</dt><dd><time>{}</time></dd>\n</dl>\n",
            esc(&m.subject),
            esc(&m.to.join(", ")),
            esc(&m.from),
            esc(m.kind.as_deref().unwrap_or("–")),
            esc(&m.received_at),
        );
        if !m.links.is_empty() {
            main += "<ul class=\"links\">\n";
            for link in &m.links {
                let link = esc(link);
                main += &format!("<li><a href=\"{link}\" rel=\"noreferrer\">{link}</a></li>\n");
            }
            main += "</ul>\n";
        }
        if let Some(text) = &m.text {
            main += &format!("<pre>{}</pre>\n", esc(text));
        }
        if let Some(html) = &m.html {
            main += &format!(
                "<details><summary>HTML source</summary><pre>{}</pre></details>\n",
                esc(html)
            );
        }
        main += "</article>\n";
    }
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mail sink ({})</title>
<style>
body {{ font: 1rem/1.5 system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #f4f5f7; }}
main {{ max-width: 48rem; margin: 0 auto; padding: 1rem; }}
article {{ background: #fff; border-radius: .5rem; padding: .5rem 1rem; margin-bottom: 1rem; }}
h2 {{ font-size: 1.25rem; margin: .5rem 0; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 0 1rem; margin: 0; }}
dt {{ font-weight: 600; }}
dd {{ margin: 0; overflow-wrap: anywhere; }}
.links a {{ overflow-wrap: anywhere; }}
pre {{ white-space: pre-wrap; overflow-wrap: anywhere; background: #f4f5f7; padding: .5rem; }}
</style>
</head>
<body>
<main>
{main}</main>
</body>
</html>
"#,
        messages.len()
    )
}
