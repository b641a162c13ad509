//! The document's examples are what the server says (issue 25): every
//! `example` (and each of `examples`) beside a schema — request bodies,
//! replies, errors, headers — validates against that schema, so a client
//! generated from the document, or a person reading it, is never shown a
//! body the server would refuse or never send.

use integration::openapi::{document, validate};
use serde_json::Value;

/// A JSON pointer segment (RFC 6901) in a URI fragment.
fn segment(key: &str) -> String {
    key.replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// (where the example is, the schema's pointer, the example) for every
/// example with a schema beside it.
fn examples(value: &Value, at: &str, found: &mut Vec<(String, String, Value)>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("schema") {
                let schema = format!("#{at}/schema");
                if let Some(example) = map.get("example") {
                    found.push((at.to_string(), schema.clone(), example.clone()));
                }
                for (name, named) in map
                    .get("examples")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    if let Some(example) = named.get("value") {
                        found.push((
                            format!("{at}/examples/{name}"),
                            schema.clone(),
                            example.clone(),
                        ));
                    }
                }
            }
            for (key, child) in map {
                examples(child, &format!("{at}/{}", segment(key)), found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                examples(child, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_example_matches_its_schema() {
    let mut found = Vec::new();
    examples(document(), "", &mut found);
    assert!(found.len() >= 40, "only {} examples found", found.len());
    let wrong: Vec<String> = found
        .iter()
        .filter_map(|(at, schema, example)| {
            validate(schema, example)
                .err()
                .map(|e| format!("{at}: {e}\n  example: {example}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "examples the document's own schemas refuse:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn a_wrong_example_is_caught() {
    // The walk and the validator together: an example that breaks its
    // schema (a negative price) is found.
    let product = "#/components/schemas/ProductInput";
    let bad = serde_json::json!({"name": "Kopi", "price": -1, "stock": 1});
    assert!(validate(product, &bad).is_err());
    let good = serde_json::json!({"name": "Kopi", "price": 1, "stock": 1});
    assert!(validate(product, &good).is_ok());
}
