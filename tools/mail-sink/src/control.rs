//! The sink's own controls, for tests and scripts:
//!
//! - `GET /api/messages?to=&kind=`: the mails kept, oldest first, filtered
//!   by a recipient's address and by the `kind` tag;
//! - `DELETE /api/messages`: forgets the mails, idempotency records and
//!   stats;
//! - `POST /api/faults`, `DELETE /api/faults`: see `faults`.
//!
//! None of them needs the API key: the sink is a local test tool.

use serde_json::json;

use crate::{json, no_content, Reply, Shared, Stats};

pub(crate) fn messages(shared: &Shared, query: &str) -> Reply {
    let mut to = None;
    let mut kind = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "to" => to = Some(value.into_owned()),
            "kind" => kind = Some(value.into_owned()),
            _ => {}
        }
    }
    let state = shared.state();
    let matching: Vec<_> = state
        .messages
        .iter()
        .filter(|m| to.as_deref().is_none_or(|to| m.is_to(to)))
        .filter(|m| kind.is_none() || m.kind == kind)
        .collect();
    json(200, &matching)
}

pub(crate) fn clear(shared: &Shared) -> Reply {
    let mut state = shared.state();
    state.messages.clear();
    state.idempotency.clear();
    state.stats = Stats::default();
    no_content()
}

pub(crate) fn set_faults(shared: &Shared, body: &[u8]) -> Reply {
    match shared.state().faults.set(body) {
        Ok(()) => no_content(),
        Err(why) => json(400, &json!({ "error": why })),
    }
}

pub(crate) fn clear_faults(shared: &Shared) -> Reply {
    shared.state().faults = Default::default();
    no_content()
}
