use std::time::Duration;

use mail_sink::{Config, Sink, Stats};
use platform_core::resend::{idempotency_key, outcome, ErrorBody, Outcome, SendEmail, Tag};
use serde_json::{json, Value};

const KEY: &str = "re_dev_test_key";

async fn start() -> Sink {
    Sink::start(Config {
        api_key: KEY.into(),
        listen: "127.0.0.1:0".parse().unwrap(),
        announce: false,
    })
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The mail the worker would send: the app's own wire type.
fn mail(to: &str, kind: &str, text: &str) -> Value {
    let mail = SendEmail {
        from: "Shop <shop@mail.dev.test>".into(),
        to: vec![to.into()],
        subject: format!("Your {kind}"),
        text: Some(text.into()),
        html: None,
        reply_to: None,
        tags: vec![Tag::new("kind", kind)],
    };
    serde_json::to_value(mail).unwrap()
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// What the mail worker makes of it.
    fn outcome(&self) -> Outcome {
        let header = |name| self.headers.get(name).and_then(|v| v.to_str().ok());
        outcome(
            self.status,
            &self.body,
            header("retry-after"),
            header("ratelimit-reset"),
        )
    }

    fn error_name(&self) -> String {
        let error: ErrorBody = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(error.status_code, self.status);
        error.name
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

fn post(sink: &Sink, idempotency: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
    let mut request = client()
        .post(format!("{}/emails", sink.base))
        .bearer_auth(KEY)
        .json(body);
    if let Some(key) = idempotency {
        request = request.header("Idempotency-Key", key);
    }
    request
}

async fn send(sink: &Sink, idempotency: Option<&str>, body: &Value) -> Answer {
    answer(post(sink, idempotency, body)).await
}

async fn get(sink: &Sink, path: &str) -> Value {
    let response = client()
        .get(format!("{}{path}", sink.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn fault(sink: &Sink, body: Value) {
    let response = client()
        .post(format!("{}/api/faults", sink.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{body}");
}

async fn stats(sink: &Sink) -> Value {
    get(sink, "/api/stats").await
}

#[tokio::test]
async fn sends_are_kept_with_their_links() {
    let sink = start().await;
    let link = "http://127.0.0.1:3000/app/verify-email#token=AbC-_9";
    let text =
        format!("Hello,\nconfirm your address: {link}.\nOr ignore (https://shop.test/help).");
    let sent = send(
        &sink,
        Some("mail-1"),
        &mail("Boss@Example.com", "verify_email", &text),
    )
    .await;
    assert_eq!(sent.status, 200);
    let Outcome::Sent { id } = sent.outcome() else {
        panic!("{:?}", sent.outcome());
    };
    assert_eq!(id.len(), 36);
    let mut html = mail("budi@example.com", "order_paid", "Paid");
    html["html"] = json!("<p><a href=\"https://shop.test/app/orders?id=7&amp;x=1\">Order</a></p>");
    assert_eq!(send(&sink, None, &html).await.status, 200);

    let all = get(&sink, "/api/messages").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let first = &all[0];
    assert_eq!(first["id"], id.as_str());
    assert_eq!(first["from"], "Shop <shop@mail.dev.test>");
    assert_eq!(first["to"], json!(["Boss@Example.com"]));
    assert_eq!(first["subject"], "Your verify_email");
    assert_eq!(first["text"], text.as_str());
    assert_eq!(first["html"], Value::Null);
    assert_eq!(first["links"], json!([link, "https://shop.test/help"]));
    assert_eq!(first["kind"], "verify_email");
    assert_eq!(first["idempotency_key"], "mail-1");
    assert!(first["received_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        all[1]["links"],
        json!(["https://shop.test/app/orders?id=7&x=1"])
    );
    assert_eq!(all[1]["idempotency_key"], Value::Null);

    let to_boss = get(
        &sink,
        "/api/messages?to=boss%40example.com&kind=verify_email",
    )
    .await;
    assert_eq!(to_boss, json!([first]));
    assert_eq!(get(&sink, "/api/messages?kind=order_paid").await[0], all[1]);
    assert_eq!(
        get(&sink, "/api/messages?to=nobody@example.com").await,
        json!([])
    );
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(sink.stats().accepted, 2);

    let url = format!("{}/emails/{id}", sink.base);
    let retrieved = answer(client().get(&url).bearer_auth(KEY)).await;
    assert_eq!(retrieved.status, 200);
    let email = retrieved.json();
    assert_eq!(email["object"], "email");
    assert_eq!(email["id"], id.as_str());
    assert_eq!(email["to"], json!(["Boss@Example.com"]));
    assert_eq!(email["text"], text.as_str());
    assert_eq!(email["last_event"], "delivered");
    assert_eq!(email["created_at"], first["received_at"]);
    let unknown = format!("{}/emails/4e1b7c43-0000-4000-8000-000000000000", sink.base);
    let missing = answer(client().get(unknown).bearer_auth(KEY)).await;
    assert_eq!(
        (missing.status, missing.error_name()),
        (404, "not_found".into())
    );
    let anonymous = answer(client().get(&url)).await;
    assert_eq!(anonymous.status, 401);

    let cleared = client()
        .delete(format!("{}/api/messages", sink.base))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(get(&sink, "/api/messages").await, json!([]));
    assert_eq!(
        stats(&sink).await,
        json!({"accepted": 0, "replayed": 0, "refused": 0, "faulted": 0})
    );
}

#[tokio::test]
async fn the_key_is_required() {
    let sink = start().await;
    let body = mail("a@example.com", "order_placed", "Thanks");
    let url = format!("{}/emails", sink.base);
    let missing = answer(client().post(&url).json(&body)).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.error_name(), "missing_api_key");
    assert_eq!(
        missing.outcome(),
        Outcome::Misconfigured {
            name: "missing_api_key".into()
        }
    );
    let wrong = answer(client().post(&url).bearer_auth("re_wrong").json(&body)).await;
    assert_eq!(wrong.status, 403);
    assert_eq!(wrong.error_name(), "invalid_api_key");
    let basic = answer(client().post(&url).basic_auth(KEY, Some("")).json(&body)).await;
    assert_eq!(basic.status, 401);
    assert!(sink.messages().is_empty());
    assert_eq!(
        sink.stats(),
        Stats {
            refused: 3,
            ..Stats::default()
        }
    );
}

#[tokio::test]
async fn bodies_are_validated_as_resend_does() {
    let sink = start().await;
    let good = mail("a@example.com", "order_placed", "Thanks");
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let mut no_to = good.clone();
    no_to.as_object_mut().unwrap().remove("to");
    let mut no_content = good.clone();
    no_content.as_object_mut().unwrap().remove("text");
    let many: Vec<String> = (0..51).map(|i| format!("r{i}@example.com")).collect();
    let cases = [
        (no_to, "missing_required_field"),
        (with("subject", json!("")), "missing_required_field"),
        (no_content, "missing_required_field"),
        (with("from", json!("shop")), "invalid_from_address"),
        (with("from", json!("Shop <shop@x>")), "invalid_from_address"),
        (with("to", json!(["not an address"])), "validation_error"),
        (with("to", json!(many)), "validation_error"),
        (with("to", json!(7)), "validation_error"),
        (
            with("tags", json!([{"name": "kind", "value": "order paid"}])),
            "validation_error",
        ),
        (json!([1, 2]), "validation_error"),
    ];
    for (body, name) in cases {
        let refused = send(&sink, Some("mail-v"), &body).await;
        assert_eq!(
            (refused.status, refused.error_name()),
            (422, name.into()),
            "{body}"
        );
        assert_eq!(refused.outcome(), Outcome::Refused { name: name.into() });
    }
    let url = format!("{}/emails", sink.base);
    let not_json = client()
        .post(&url)
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("{\"from\":");
    let not_json = answer(not_json).await;
    assert_eq!(
        (not_json.status, not_json.error_name()),
        (422, "validation_error".into())
    );
    let long_key = "k".repeat(257);
    let refused = send(&sink, Some(&long_key), &good).await;
    assert_eq!(
        (refused.status, refused.error_name()),
        (400, "invalid_idempotency_key".into())
    );
    assert!(sink.messages().is_empty());
    assert_eq!(sink.stats().refused, 12);

    // A refused send leaves no record: the key still works, at 256 chars.
    let max_key = "k".repeat(256);
    assert_eq!(send(&sink, Some(&max_key), &good).await.status, 200);
    assert_eq!(send(&sink, Some("mail-v"), &good).await.status, 200);
    let sent = send(&sink, None, &with("to", json!("b@example.com"))).await;
    assert_eq!(sent.status, 200);
    assert_eq!(sink.messages()[2].to, ["b@example.com"]);
}

#[tokio::test]
async fn a_retry_with_the_same_key_is_answered_once() {
    let sink = start().await;
    let key = idempotency_key("0b7c5c1e-6c61-4d8e-9a57-3c2f8c1d2e3f");
    let body = mail("a@example.com", "order_paid", "Paid: https://shop.test/o/1");
    let first = send(&sink, Some(&key), &body).await;
    let again = send(&sink, Some(&key), &body).await;
    assert_eq!((first.status, again.status), (200, 200));
    assert_eq!(first.body, again.body, "the same answer, the same id");
    // Key order and white space do not make another body.
    let reordered = r#"{ "tags": [{"value": "order_paid", "name": "kind"}],
        "text": "Paid: https://shop.test/o/1", "subject": "Your order_paid",
        "to": ["a@example.com"], "from": "Shop <shop@mail.dev.test>" }"#;
    let reordered = client()
        .post(format!("{}/emails", sink.base))
        .bearer_auth(KEY)
        .header("idempotency-key", &key)
        .header("content-type", "application/json")
        .body(reordered);
    assert_eq!(answer(reordered).await.body, first.body);
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(
        sink.messages()[0].idempotency_key.as_deref(),
        Some(key.as_str())
    );

    let other = mail("a@example.com", "order_paid", "Another text");
    let conflict = send(&sink, Some(&key), &other).await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.error_name(), "invalid_idempotent_request");
    assert_eq!(conflict.outcome(), Outcome::AlreadySent);
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(
        stats(&sink).await,
        json!({"accepted": 1, "replayed": 2, "refused": 1, "faulted": 0})
    );
}

#[tokio::test]
async fn a_key_in_progress_is_refused_as_concurrent() {
    let sink = start().await;
    fault(&sink, json!({"delay_ms": 400})).await;
    let body = mail("a@example.com", "order_placed", "Thanks");
    let (slow, fast) = tokio::join!(send(&sink, Some("mail-c"), &body), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        send(&sink, Some("mail-c"), &body).await
    });
    assert_eq!(slow.status, 200);
    assert_eq!(fast.status, 409);
    assert_eq!(fast.error_name(), "concurrent_idempotent_requests");
    assert_eq!(fast.outcome(), Outcome::InFlight);
    assert_eq!(send(&sink, Some("mail-c"), &body).await.body, slow.body);
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn server_errors_then_success() {
    let sink = start().await;
    fault(&sink, json!({"status": 503, "count": 2})).await;
    let body = mail("a@example.com", "order_placed", "Thanks");
    for _ in 0..2 {
        let failed = send(&sink, Some("mail-5"), &body).await;
        assert_eq!(failed.status, 503);
        assert!(matches!(failed.outcome(), Outcome::Retry { .. }));
    }
    assert!(sink.messages().is_empty());
    let sent = send(&sink, Some("mail-5"), &body).await;
    assert_eq!(sent.status, 200);
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(
        stats(&sink).await,
        json!({"accepted": 1, "replayed": 0, "refused": 0, "faulted": 2})
    );

    fault(&sink, json!({"status": 500, "for_secs": 60})).await;
    assert_eq!(send(&sink, None, &body).await.status, 500);
    let cleared = client()
        .delete(format!("{}/api/faults", sink.base))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(send(&sink, None, &body).await.status, 200);
    let bad = client()
        .post(format!("{}/api/faults", sink.base))
        .json(&json!({"status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn rate_limits_say_when_to_come_back() {
    let sink = start().await;
    fault(&sink, json!({"status": 429, "count": 1, "retry_after": 7})).await;
    let body = mail("a@example.com", "order_placed", "Thanks");
    let limited = send(&sink, Some("mail-r"), &body).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.error_name(), "rate_limit_exceeded");
    assert_eq!(limited.headers["retry-after"], "7");
    assert_eq!(limited.headers["ratelimit-reset"], "7");
    assert_eq!(limited.outcome(), Outcome::Paused { secs: 7 });
    fault(
        &sink,
        json!({"status": 429, "count": 1, "name": "daily_quota_exceeded"}),
    )
    .await;
    let quota = send(&sink, Some("mail-r"), &body).await;
    assert_eq!(quota.error_name(), "daily_quota_exceeded");
    assert_eq!(quota.outcome(), Outcome::Paused { secs: 60 });
    assert_eq!(send(&sink, Some("mail-r"), &body).await.status, 200);
}

#[tokio::test]
async fn a_dropped_answer_still_sent_the_mail_once() {
    let sink = start().await;
    fault(&sink, json!({"drop_response": 1})).await;
    let body = mail(
        "a@example.com",
        "reset_password",
        "https://shop.test/r#token=x",
    );
    let lost = post(&sink, Some("mail-d"), &body).send().await;
    assert!(lost.is_err(), "the connection closes unanswered");
    assert_eq!(sink.messages().len(), 1);
    let retried = send(&sink, Some("mail-d"), &body).await;
    assert_eq!(retried.status, 200);
    let Outcome::Sent { id } = retried.outcome() else {
        panic!("{:?}", retried.outcome());
    };
    assert_eq!(id, sink.messages()[0].id);
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(
        sink.stats(),
        Stats {
            accepted: 1,
            replayed: 1,
            ..Stats::default()
        }
    );
}

#[tokio::test]
async fn the_page_lists_mails_escaped() {
    let sink = start().await;
    let text = "<script>alert(1)</script> https://shop.test/app/verify-email#token=a&b";
    let mut body = mail("a@example.com", "verify_email", text);
    body["subject"] = json!("Hi <b>\"you\"</b>");
    body["html"] = json!("<img src=x onerror=alert(2)>");
    assert_eq!(send(&sink, None, &body).await.status, 200);
    let later = mail("z@example.com", "order_paid", "second");
    assert_eq!(send(&sink, None, &later).await.status, 200);

    let response = client()
        .get(format!("{}/", sink.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(
        !page.contains("<script") && !page.contains("<img"),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("Hi &lt;b&gt;&quot;you&quot;&lt;/b&gt;"));
    assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"));
    let link = "https://shop.test/app/verify-email#token=a&amp;b";
    assert!(page.contains(&format!("<a href=\"{link}\" rel=\"noreferrer\">{link}</a>")));
    let (newer, older) = (page.find("z@example.com"), page.find("a@example.com"));
    assert!(newer.unwrap() < older.unwrap(), "newest first");
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_resend_errors() {
    let sink = start().await;
    let nowhere = answer(
        client()
            .get(format!("{}/domains", sink.base))
            .bearer_auth(KEY),
    )
    .await;
    assert_eq!(
        (nowhere.status, nowhere.error_name()),
        (404, "not_found".into())
    );
    let wrong = answer(
        client()
            .put(format!("{}/emails", sink.base))
            .bearer_auth(KEY),
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.error_name()),
        (405, "method_not_allowed".into())
    );
}
