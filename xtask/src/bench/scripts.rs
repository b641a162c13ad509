//! wrk's Lua scripts: what a run sends beyond a plain `GET`.

use std::path::{Path, PathBuf};

use super::backends::{BENCH_EMAIL, BENCH_PASSWORD};
use super::scenarios::Request;
use super::PRODUCTS;
use crate::env;

/// The warm-up's and the measured run's scripts, written into `out`
/// (`None`: a plain `GET` of the path).
pub fn write(request: Request, out: &Path) -> anyhow::Result<Option<(PathBuf, PathBuf)>> {
    let file = |name: String, text: String| -> anyhow::Result<PathBuf> {
        let path = out.join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    };
    let same = |path: PathBuf| Some((path.clone(), path));
    Ok(match request {
        Request::Get(_) | Request::Pgbench => None,
        Request::SignedIn(_) => same(file("me.lua".into(), bearer_lua(&bench_token()?))?),
        Request::Login => same(file("login.lua".into(), post_json_lua(&login_body()))?),
        Request::Fresh { prefix, warm, run } => {
            let name = |start| format!("sequential{}{start}.lua", prefix.replace('/', "-"));
            Some((
                file(name(warm), sequential_ids_lua(prefix, warm))?,
                file(name(run), sequential_ids_lua(prefix, run))?,
            ))
        }
        Request::Order { path, warm, run } => {
            let token = bench_token()?;
            Some((
                file(format!("order-{warm}.lua"), order_lua(path, warm, &token))?,
                file(format!("order-{run}.lua"), order_lua(path, run, &token))?,
            ))
        }
    })
}

/// An access token of the bench account (user 1), signed with the bench's secret.
fn bench_token() -> anyhow::Result<String> {
    auth_core::issue_access_token(
        env::jwt_secret()?.as_bytes(),
        1,
        auth_core::Role::Customer,
        3600,
    )
    .map_err(|e| anyhow::anyhow!(e.message()))
}

fn login_body() -> String {
    serde_json::json!({"email": BENCH_EMAIL, "password": BENCH_PASSWORD}).to_string()
}

fn post_json_lua(body: &str) -> String {
    format!(
        "wrk.method = \"POST\"\n\
         wrk.body = '{body}'\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n"
    )
}

fn bearer_lua(token: &str) -> String {
    format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n")
}

/// wrk's two threads interleave over `prefix`start+1, +2, …
fn sequential_ids_lua(prefix: &str, start: u64) -> String {
    format!(
        "local next_id = {start}\n\
         function setup(thread) thread:set(\"id\", next_id); next_id = next_id + 1 end\n\
         function request() id = id + 2; return wrk.format(\"GET\", \"{prefix}\" .. id) end\n"
    )
}

/// `POST path`, one unit of product `start`+1, +2, … (each thread its own).
fn order_lua(path: &str, start: u64, token: &str) -> String {
    format!(
        "local next_id = {start}\n\
         function setup(thread) thread:set(\"id\", next_id); next_id = next_id + 1 end\n\
         function request()\n\
           id = id + 2\n\
           return wrk.format(\"POST\", \"{path}\", {{[\"Content-Type\"] = \"application/json\", \
         [\"Authorization\"] = \"Bearer {token}\"}}, \
         '{{\"items\":[{{\"product_id\":' .. (id % {PRODUCTS} + 1) .. ',\"quantity\":1}}]}}')\n\
         end\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_body_is_the_seeded_account() {
        assert_eq!(
            login_body(),
            r#"{"email":"bench@example.com","password":"bench-password-1"}"#
        );
    }

    #[test]
    fn scripts_carry_their_start_and_token() {
        let fresh = sequential_ids_lua("/uncached/", 200_000);
        assert!(fresh.starts_with("local next_id = 200000\n"));
        assert!(fresh.contains("wrk.format(\"GET\", \"/uncached/\" .. id)"));
        let order = order_lua("/composed/order", 7, "tok");
        assert!(order.starts_with("local next_id = 7\n"));
        assert!(order.contains("\"Bearer tok\""));
        assert!(order.contains("wrk.format(\"POST\", \"/composed/order\""));
        assert!(order.contains(&format!("(id % {PRODUCTS} + 1)")));
    }
}
