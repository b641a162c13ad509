//! The Snap redirection page: the order, and buttons choosing the outcome.

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::Response;

use crate::stamps::jakarta;
use crate::{notification_body, notify, Reply, Shared, Transaction};

fn html(status: u16, body: String) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn not_found() -> Reply {
    html(
        404,
        layout(
            "Payment not found",
            "<h1>Payment not found</h1><p>No transaction has this payment link.</p>",
        ),
    )
}

/// `GET /snap/v4/redirection/{token}`.
pub(crate) fn show(shared: &Shared, token: &str) -> Reply {
    match shared.with_token(token, |tx| tx.clone()) {
        Some(tx) => html(200, render(&tx, None)),
        None => not_found(),
    }
}

/// `POST /snap/v4/redirection/{token}/{pay|deny|expire}`.
pub(crate) async fn act(shared: &Arc<Shared>, token: &str, action: &str) -> Reply {
    let (status, fraud) = match action {
        "pay" => ("settlement", Some("accept")),
        "deny" => ("deny", Some("deny")),
        "expire" => ("expire", None),
        _ => return not_found(),
    };
    // Checked and recorded under one lock, so two clicks cannot both act.
    let Some((tx, body)) = shared.with_token(token, |tx| {
        let body = (!tx.is_final()).then(|| {
            tx.record(status, fraud);
            notification_body(tx, &shared.server_key)
        });
        (tx.clone(), body)
    }) else {
        return not_found();
    };
    let Some(body) = body else {
        return html(409, render(&tx, Some("This payment is already final.")));
    };
    let webhook = notify::deliver(shared, &tx.notification_url, &tx.order_id, body).await;
    if let Some(finish) = &tx.finish_url {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("order_id", &tx.order_id)
            .append_pair("status_code", tx.status_code())
            .append_pair("transaction_status", &tx.transaction_status)
            .finish();
        let glue = if finish.contains('?') { '&' } else { '?' };
        return Response::builder()
            .status(303)
            .header("location", format!("{finish}{glue}{query}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
    }
    let notice = match webhook {
        Some(code @ 200..=299) => format!("Notification sent: the webhook answered HTTP {code}."),
        Some(code) => {
            format!("The webhook answered HTTP {code}; the notification will be retried.")
        }
        None if tx.notification_url.is_empty() => "No notification URL is set.".to_string(),
        None => "The webhook could not be reached; the notification will be retried.".to_string(),
    };
    html(200, render(&tx, Some(&notice)))
}

/// `Rp 12.345`: Indonesian digit grouping.
fn rupiah(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap())
        .collect();
    let grouped = groups.join(".");
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}Rp {grouped}")
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn render(tx: &Transaction, notice: Option<&str>) -> String {
    let amount = rupiah(tx.gross_amount);
    let verb = if tx.is_final() { "Payment of" } else { "Pay" };
    let mut main =
        format!("<p class=\"merchant\">Local Midtrans sandbox</p>\n<h1>{verb} {amount}</h1>\n");
    if let Some(notice) = notice {
        main += &format!("<p role=\"status\" class=\"notice\">{}</p>\n", esc(notice));
    }
    main += &format!(
        "<dl>\n<dt>Order ID</dt><dd>{}</dd>\n<dt>Amount</dt><dd>{amount} (IDR)</dd>\n\
         <dt>Status</dt><dd><strong>{}</strong></dd>\n",
        esc(&tx.order_id),
        esc(&tx.transaction_status)
    );
    if !tx.customer.is_empty() {
        main += &format!("<dt>Customer</dt><dd>{}</dd>\n", esc(&tx.customer));
    }
    if tx.transaction_status == "pending" {
        let deadline = jakarta(tx.expires_at);
        main += &format!("<dt>Pay before</dt><dd>{deadline} (Jakarta time)</dd>\n");
    }
    main += "</dl>\n";
    if !tx.items.is_empty() {
        main += "<table>\n<caption>Items</caption>\n<thead><tr><th scope=\"col\">Item</th>\
                 <th scope=\"col\">Qty</th><th scope=\"col\">Price</th></tr></thead>\n<tbody>\n";
        for item in &tx.items {
            main += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&item.name),
                item.quantity,
                rupiah(item.price)
            );
        }
        main += "</tbody>\n</table>\n";
    }
    if tx.is_final() {
        main += "<p>This payment is final: there is nothing more to do here.</p>\n";
    } else {
        let action = |what: &str, class: &str, label: &str| {
            format!(
                "<form method=\"post\" action=\"/snap/v4/redirection/{}/{what}\">\
                 <button type=\"submit\" class=\"{class}\">{label}</button></form>\n",
                esc(&tx.token)
            )
        };
        main += "<h2>Choose the outcome</h2>\n<p>A test payment: no money moves. Each button \
                 sends Midtrans's signed notification to the shop.</p>\n";
        main += &action("pay", "pay", &format!("Pay {amount}"));
        main += &action("deny", "deny", "Deny");
        main += &action("expire", "expire", "Expire");
    }
    layout(
        &format!("Pay order {} – Local Midtrans sandbox", tx.order_id),
        &main,
    )
}

fn layout(title: &str, main: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>
body {{ font: 1.125rem/1.5 system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #f4f5f7; }}
main {{ max-width: 32rem; margin: 0 auto; padding: 1rem; background: #fff; min-height: 100vh; box-sizing: border-box; }}
.merchant {{ margin: 0; color: #444; font-weight: 600; }}
h1 {{ margin: .25rem 0 1rem; font-size: 1.75rem; }}
dt {{ font-weight: 600; }}
dd {{ margin: 0 0 .5rem; overflow-wrap: anywhere; }}
table {{ width: 100%; border-collapse: collapse; margin-bottom: 1rem; }}
caption {{ text-align: left; font-weight: 600; }}
th, td {{ text-align: left; padding: .25rem .5rem .25rem 0; border-bottom: 1px solid #ccc; }}
.notice {{ padding: .75rem; background: #e8f0fe; border-left: 4px solid #1a56db; }}
form {{ margin: 0 0 .75rem; }}
button {{ width: 100%; min-height: 3rem; font: inherit; font-weight: 600; border: 0; border-radius: .5rem; color: #fff; cursor: pointer; }}
button:focus-visible {{ outline: 3px solid #1a56db; outline-offset: 3px; }}
.pay {{ background: #0b6b2e; }}
.deny {{ background: #a4161a; }}
.expire {{ background: #4a4a4a; }}
</style>
</head>
<body>
<main>
{main}</main>
</body>
</html>
"#,
        esc(title)
    )
}
