//! The links of a mail, so tests and people can follow them: the http(s)
//! URLs in its text, then its HTML's `href`s, in order, each once.

pub(crate) fn links(text: Option<&str>, html: Option<&str>) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(text) = text {
        urls_in(text, &mut found);
    }
    if let Some(html) = html {
        hrefs_in(html, &mut found);
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|link| seen.insert(link.clone()));
    found
}

fn is_http(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    (lower.starts_with("http://") && s.len() > 7) || (lower.starts_with("https://") && s.len() > 8)
}

/// URLs written in plain text end at white space or a quote or bracket;
/// sentence punctuation after them is not theirs.
fn urls_in(text: &str, out: &mut Vec<String>) {
    let mut rest = text;
    while let Some(at) = ["http://", "https://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || "<>\"'`".contains(c))
            .unwrap_or(tail.len());
        let url = trim_punctuation(&tail[..end]);
        if is_http(url) {
            out.push(url.to_string());
        }
        rest = &tail[end.max(1)..];
    }
}

fn trim_punctuation(mut url: &str) -> &str {
    loop {
        let unbalanced = |open: char, close: char| {
            url.ends_with(close) && url.matches(open).count() < url.matches(close).count()
        };
        let trailing = url.ends_with(['.', ',', ';', ':', '!', '?']);
        if trailing || unbalanced('(', ')') || unbalanced('[', ']') {
            url = &url[..url.len() - 1];
        } else {
            return url;
        }
    }
}

/// `href="…"`, `href='…'` or `href=…` attributes whose value is an http(s)
/// URL, entities decoded.
fn hrefs_in(html: &str, out: &mut Vec<String>) {
    // ASCII lower-casing keeps byte offsets, so positions carry over.
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("href") {
        let at = from + found;
        from = at + 4;
        let attribute = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = html[from..].trim_start();
        let Some(value) = rest.strip_prefix('=').map(str::trim_start) else {
            continue;
        };
        if !attribute {
            continue;
        }
        let raw = match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        };
        let url = decode_entities(raw.trim());
        if is_http(&url) {
            out.push(url);
        }
    }
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_urls_in_order_without_trailing_punctuation() {
        let text = "Verify: https://shop.test/app/verify-email#token=aB-_9.\n\
                    Orders (http://shop.test/app/orders). See https://x.test/a_(b) or \
                    \"https://q.test/?a=1&b=2\", https://shop.test/app/verify-email#token=aB-_9 \
                    ftp://no.test http:// https://";
        assert_eq!(
            links(Some(text), None),
            [
                "https://shop.test/app/verify-email#token=aB-_9",
                "http://shop.test/app/orders",
                "https://x.test/a_(b)",
                "https://q.test/?a=1&b=2",
            ]
        );
    }

    #[test]
    fn html_hrefs_after_text_links() {
        let html = r#"<p><a class="x" href="https://shop.test/a?x=1&amp;y=2">a</a>
            <a HREF = 'http://shop.test/b'>b</a> <a href=https://shop.test/c>c</a>
            <a data-href="https://no.test/">n</a> <a href="mailto:a@b.test">m</a>
            <a href="javascript:alert(1)">j</a> <a href="https://shop.test/t">t</a></p>"#;
        let text = "https://shop.test/t then https://shop.test/u";
        assert_eq!(
            links(Some(text), Some(html)),
            [
                "https://shop.test/t",
                "https://shop.test/u",
                "https://shop.test/a?x=1&y=2",
                "http://shop.test/b",
                "https://shop.test/c",
            ]
        );
        assert!(links(None, None).is_empty());
    }
}
