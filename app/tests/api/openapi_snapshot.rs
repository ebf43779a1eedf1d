//! The OpenAPI document the server generates (`app::openapi_document()`, served at
//! `/api-docs/openapi.json`) is committed as `docs/openapi.json`, so every change to the API —
//! a route, a status, a field, a doc comment — shows up as a diff in review. This test fails
//! when the two differ; the refresh command below rewrites the file.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The one command that brings `docs/openapi.json` up to date (named in the failure message,
/// the README and docs/architecture.md).
const REFRESH_COMMAND: &str = "UPDATE_OPENAPI=1 cargo test -p app --test api openapi_snapshot";

/// Differences listed in a failure message before the rest are only counted.
const SHOWN_DIFFERENCES: usize = 20;

fn snapshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json")
}

/// Every object's keys sorted at every level. serde_json keeps insertion order as soon as any
/// crate in the build enables its `preserve_order` feature, so the order is fixed here.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The committed form: pretty-printed, keys sorted, one trailing newline.
fn render(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(document.clone())).unwrap();
    text.push('\n');
    text
}

/// A JSON Pointer segment (RFC 6901): `/api/v1/wallet` becomes `~1api~1v1~1wallet`.
fn segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn brief(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Where `generated` differs from `committed`, as JSON Pointers into the document.
fn differences(pointer: &str, committed: &Value, generated: &Value, out: &mut Vec<String>) {
    match (committed, generated) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, old_value) in old {
                let at = format!("{pointer}/{}", segment(key));
                match new.get(key) {
                    Some(new_value) => differences(&at, old_value, new_value, out),
                    None => out.push(format!("- {at} (no longer generated): {}", brief(old_value))),
                }
            }
            for (key, new_value) in new.iter().filter(|(k, _)| !old.contains_key(*k)) {
                out.push(format!("+ {pointer}/{} (new): {}", segment(key), brief(new_value)));
            }
        }
        (Value::Array(old), Value::Array(new)) if old.len() == new.len() => {
            for (i, (old_item, new_item)) in old.iter().zip(new).enumerate() {
                differences(&format!("{pointer}/{i}"), old_item, new_item, out);
            }
        }
        (old, new) if old != new => {
            let at = if pointer.is_empty() { "/" } else { pointer };
            out.push(format!("~ {at}: committed {}, generated {}", brief(old), brief(new)));
        }
        _ => {}
    }
}

#[test]
fn the_committed_openapi_document_is_the_one_the_server_generates() {
    let generated = serde_json::to_value(app::openapi_document()).unwrap();
    let expected = render(&generated);
    let path = snapshot_path();
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == expected {
        return;
    }
    let found = match serde_json::from_str::<Value>(&committed) {
        Err(e) => vec![format!("docs/openapi.json is missing or not JSON ({e})")],
        Ok(committed) => {
            let mut found = Vec::new();
            differences("", &committed, &generated, &mut found);
            if found.is_empty() {
                found.push("same document, but not in the committed form (pretty JSON, keys sorted)".into());
            }
            found
        }
    };
    let mut shown = found.iter().take(SHOWN_DIFFERENCES).cloned().collect::<Vec<_>>().join("\n  ");
    if found.len() > SHOWN_DIFFERENCES {
        shown.push_str(&format!("\n  … and {} more", found.len() - SHOWN_DIFFERENCES));
    }
    panic!(
        "docs/openapi.json differs from the OpenAPI document the server generates:\n  {shown}\n\n\
         If the API change is intended, refresh the file and commit it with the change:\n\n    {REFRESH_COMMAND}\n"
    );
}
