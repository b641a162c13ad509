//! A local OAuth 2.0 provider for tests: one HTTP server that answers the
//! endpoints of Google (OpenID Connect), GitHub and Facebook at their real
//! paths, so the app reaches it through its production code with only the
//! base URLs changed. It checks what the real providers check: the client
//! id and secret, the registered redirect URI, PKCE S256 (`code_verifier`
//! against the challenge) and single-use, short-lived codes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ct_codecs::{Base64UrlSafeNoPadding, Encoder};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};

/// Who signs in at the provider next.
#[derive(Debug, Clone)]
pub struct Account {
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub email_verified: bool,
}

/// An app registered with the provider.
#[derive(Debug, Clone)]
pub struct App {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

#[derive(Debug, Clone)]
struct Grant {
    provider: &'static str,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    account: Account,
    used: bool,
}

#[derive(Default)]
struct State {
    apps: HashMap<&'static str, App>,
    next: HashMap<&'static str, Account>,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, Account>,
    counter: u64,
    /// Why requests were refused, for tests to assert on.
    refusals: Vec<String>,
}

pub struct FakeOAuth {
    /// `http://127.0.0.1:<port>`: every provider's base URL.
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOAuth {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The providers it speaks for.
pub const PROVIDERS: [&str; 3] = ["google", "github", "facebook"];

fn provider_name(p: &str) -> &'static str {
    PROVIDERS
        .into_iter()
        .find(|n| *n == p)
        .unwrap_or_else(|| panic!("unknown provider {p}"))
}

impl FakeOAuth {
    /// Serves on `addr` (`127.0.0.1:0` for a free port).
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<FakeOAuth> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let shared = (state.clone(), base.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(&shared.0, &shared.1, req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(FakeOAuth { base, state, task })
    }

    pub async fn start() -> FakeOAuth {
        FakeOAuth::start_on(([127, 0, 0, 1], 0).into())
            .await
            .expect("the fake provider binds")
    }

    /// Registers the app for `provider` (`google`, `github`, `facebook`).
    pub fn register(&self, provider: &str, app: App) {
        self.state
            .lock()
            .unwrap()
            .apps
            .insert(provider_name(provider), app);
    }

    /// The account that signs in at `provider`'s next authorization.
    pub fn sign_in_as(&self, provider: &str, account: Account) {
        self.state
            .lock()
            .unwrap()
            .next
            .insert(provider_name(provider), account);
    }

    /// Every refusal so far (`"token: wrong code_verifier"` …).
    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn params(text: &str) -> HashMap<String, String> {
    form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

async fn handle(state: &Mutex<State>, base: &str, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let query = params(req.uri().query().unwrap_or(""));
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let form = params(&String::from_utf8_lossy(&body));
    let mut state = state.lock().unwrap();
    match path.as_str() {
        "/o/oauth2/v2/auth" => authorize(&mut state, "google", &query),
        "/login/oauth/authorize" => authorize(&mut state, "github", &query),
        "/v19.0/dialog/oauth" => authorize(&mut state, "facebook", &query),
        "/token" => token(&mut state, base, "google", &form),
        "/login/oauth/access_token" => token(&mut state, base, "github", &form),
        "/v19.0/oauth/access_token" => token(&mut state, base, "facebook", &query),
        "/user" | "/user/emails" | "/v19.0/me" => {
            let Some(account) = bearer.and_then(|t| state.tokens.get(&t).cloned()) else {
                state.refusals.push(format!("{path}: bad access token"));
                return reply(401, json!({"message": "Bad credentials"}));
            };
            match path.as_str() {
                "/user" => reply(
                    200,
                    json!({
                        "id": account.subject.parse::<u64>().unwrap_or(1),
                        "login": account.name.to_lowercase().replace(' ', "-"),
                        "name": account.name,
                        // GitHub's profile email is public only if chosen.
                        "email": null,
                    }),
                ),
                "/user/emails" => reply(
                    200,
                    json!(account
                        .email
                        .iter()
                        .map(|e| json!({
                            "email": e, "primary": true, "verified": account.email_verified,
                            "visibility": "private"
                        }))
                        .collect::<Vec<_>>()),
                ),
                _ => {
                    let mut me = json!({"id": account.subject, "name": account.name});
                    if let Some(e) = &account.email {
                        me["email"] = json!(e);
                    }
                    reply(200, me)
                }
            }
        }
        _ => reply(404, json!({"error": "not_found"})),
    }
}

fn authorize(
    state: &mut State,
    provider: &'static str,
    q: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    let refuse = |state: &mut State, why: &str| {
        state.refusals.push(format!("authorize: {why}"));
        reply(
            400,
            json!({"error": "invalid_request", "error_description": why}),
        )
    };
    let Some(app) = state.apps.get(provider).cloned() else {
        return refuse(state, "no app registered");
    };
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != app.client_id {
        return refuse(state, "unknown client_id");
    }
    if get("redirect_uri") != app.redirect_uri {
        return refuse(state, "redirect_uri not registered");
    }
    if get("response_type") != "code" || get("state").is_empty() {
        return refuse(state, "response_type or state");
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").len() != 43 {
        return refuse(state, "PKCE S256 required");
    }
    if provider == "google" && get("nonce").is_empty() {
        return refuse(state, "nonce required");
    }
    let Some(account) = state.next.get(provider).cloned() else {
        return refuse(state, "nobody is signed in");
    };
    state.counter += 1;
    let code = format!("code-{provider}-{}", state.counter);
    state.codes.insert(
        code.clone(),
        Grant {
            provider,
            client_id: app.client_id,
            redirect_uri: app.redirect_uri.clone(),
            challenge: get("code_challenge"),
            nonce: q.get("nonce").cloned(),
            account,
            used: false,
        },
    );
    let location = format!(
        "{}?{}",
        app.redirect_uri,
        form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &get("state"))
            .finish()
    );
    Response::builder()
        .status(302)
        .header("location", location)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn token(
    state: &mut State,
    base: &str,
    provider: &'static str,
    p: &HashMap<String, String>,
) -> Response<Full<Bytes>> {
    // GitHub answers refusals with 200 and an `error` member.
    let refuse = |state: &mut State, why: &str| {
        state.refusals.push(format!("token: {why}"));
        let (status, code) = match provider {
            "github" => (200, "bad_verification_code"),
            _ => (400, "invalid_grant"),
        };
        reply(status, json!({"error": code, "error_description": why}))
    };
    let get = |k: &str| p.get(k).cloned().unwrap_or_default();
    let Some(app) = state.apps.get(provider).cloned() else {
        return refuse(state, "no app registered");
    };
    if get("client_id") != app.client_id || get("client_secret") != app.client_secret {
        return refuse(state, "client authentication failed");
    }
    let code = get("code");
    let Some(grant) = state.codes.get_mut(&code) else {
        return refuse(state, "unknown code");
    };
    if grant.used {
        return refuse(state, "code already used");
    }
    grant.used = true;
    let grant = grant.clone();
    if grant.provider != provider || grant.client_id != app.client_id {
        return refuse(state, "code issued to another client");
    }
    if get("redirect_uri") != grant.redirect_uri {
        return refuse(state, "redirect_uri differs from the authorization's");
    }
    if b64(&hmac_sha256::Hash::hash(get("code_verifier").as_bytes())) != grant.challenge {
        return refuse(state, "wrong code_verifier");
    }
    state.counter += 1;
    let access_token = format!("at-{provider}-{}", state.counter);
    state
        .tokens
        .insert(access_token.clone(), grant.account.clone());
    let mut answer =
        json!({"access_token": access_token, "token_type": "bearer", "expires_in": 3600});
    if provider == "google" {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({
            "iss": base, "aud": grant.client_id, "sub": grant.account.subject,
            "email": grant.account.email, "email_verified": grant.account.email_verified,
            "name": grant.account.name, "nonce": grant.nonce, "iat": now, "exp": now + 3600,
        });
        answer["id_token"] = json!(format!(
            "{}.{}.{}",
            b64(br#"{"alg":"RS256","kid":"fake"}"#),
            b64(claims.to_string().as_bytes()),
            b64(b"not-checked: received from the token endpoint over TLS")
        ));
    }
    reply(200, answer)
}
