//! Holds every response the tests see to `openapi/openapi.json`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = crate::workspace_root().join("openapi/openapi.json");
        serde_json::from_slice(&std::fs::read(path).expect("openapi.json"))
            .expect("openapi.json is JSON")
    })
}

/// The document's path template matching a concrete path (`/product/{id}`).
fn template_for(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    document()["paths"]
        .as_object()?
        .keys()
        .find_map(|template| {
            let t: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            let same = t.len() == parts.len()
                && t.iter()
                    .zip(&parts)
                    .all(|(a, b)| (a.starts_with('{') && a.ends_with('}')) || a == b);
            same.then(|| template.clone())
        })
}

fn escape(segment: &str) -> String {
    segment
        .replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// JSON pointer (as a URI fragment) to the schema of a documented response.
fn schema_pointer(method: &str, template: &str, status: u16) -> Option<String> {
    let doc = document();
    let op = &doc["paths"][template][method.to_ascii_lowercase()];
    if !op.is_object() {
        // An undocumented method: only its uniform 405 error is acceptable.
        assert_eq!(status, 405, "{method} {template} is not in openapi.json");
        return Some("#/components/schemas/Error".to_string());
    }
    let response = &op["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {template} answered {status}, which openapi.json does not document"
    );
    let (base, response) = match response["$ref"].as_str() {
        Some(r) => (
            r.trim_start_matches('#').to_string(),
            &doc["components"]["responses"][r.rsplit('/').next().unwrap()],
        ),
        None => (
            format!(
                "/paths/{}/{}/responses/{status}",
                escape(template),
                method.to_ascii_lowercase()
            ),
            response,
        ),
    };
    let content = response.get("content")?;
    content.get("application/json")?;
    Some(format!("#{base}/content/application~1json/schema"))
}

/// Checks `body` against the schema at `pointer` (a URI fragment into the
/// document, `#/components/schemas/Error`).
pub fn validate(pointer: &str, body: &Value) -> Result<(), String> {
    static CACHE: OnceLock<Mutex<HashMap<String, jsonschema::Validator>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    if !cache.contains_key(pointer) {
        let mut root = document().clone();
        root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        root["$ref"] = json!(pointer);
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("schema {pointer}: {e}"))?;
        cache.insert(pointer.to_string(), validator);
    }
    let errors: Vec<String> = cache[pointer]
        .iter_errors(body)
        .map(|e| e.to_string())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Panics when a response does not conform to the document.
pub fn check(method: &str, path: &str, status: u16, body: &Value) {
    let result = match template_for(path) {
        Some(template) => match schema_pointer(method, &template, status) {
            Some(pointer) => validate(&pointer, body),
            None => {
                assert!(
                    body.is_null(),
                    "{method} {path}: {status} should have no body, got {body}"
                );
                Ok(())
            }
        },
        // Unknown routes and methods: still the uniform error body.
        None => validate("#/components/schemas/Error", body),
    };
    if let Err(e) = result {
        panic!("{method} {path} → {status} does not match openapi.json: {e}\nbody: {body}");
    }
}
