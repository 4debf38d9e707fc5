//! The import round trip: ferrio's own AsyncAPI export, imported back into Rust
//! (`ferrio-contract import`), compiles with `#[deny(warnings)]` and exports the same
//! document again, for the chat contract (`examples/common/chat_contract.rs`) and for a
//! contract using every type the exporter knows (`tests/contract_import/every_type_contract.rs`).
//!
//! The imports are committed (`tests/contract_import/chat.rs`, `every_type.rs`) and compiled
//! here as modules; a test checks they are what the importer writes today. After a change to
//! the importer or to a contract, rewrite them with
//!
//! ```sh
//! FERRIO_BLESS=1 cargo test --test contract_import
//! ```

use std::path::{Path, PathBuf};

use ferrio_schema::import::{import, ImportOptions};
use ferrio_schema::read::Perspective;
use serde_json::Value;

// The contracts exported, shared with the examples (`pub`: only part of each is used here).
#[path = "../examples/common/chat_contract.rs"]
pub mod chat_contract;
#[path = "contract_import/every_type_contract.rs"]
pub mod every_type_contract;

// Their imports, compiled with every warning an error.
#[deny(warnings)]
#[path = "contract_import/chat.rs"]
pub mod imported_chat;
#[deny(warnings)]
#[path = "contract_import/every_type.rs"]
pub mod imported_every_type;

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/contract_import")
        .join(name)
}

/// Imports `asyncapi` (named `source` in the header) and checks the committed file holds
/// exactly that; with `FERRIO_BLESS=1`, writes it instead.
fn check_committed_import(asyncapi: &str, source: &str, file: &str) -> String {
    let options = ImportOptions {
        perspective: Perspective::Server,
        source: Some(source.into()),
    };
    let rust = import(asyncapi, &options).unwrap_or_else(|error| panic!("import failed: {error}"));
    let path = committed(file);
    if std::env::var_os("FERRIO_BLESS").is_some() {
        std::fs::write(&path, &rust).expect("write the import");
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == rust,
        "{} is not what the importer writes now; rewrite it with \
         `FERRIO_BLESS=1 cargo test --test contract_import` and review the change",
        path.display()
    );
    rust
}

/// Parses a document for a comparison that ignores the order of object keys.
fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("an export is JSON")
}

/// Asserts two documents are equal, naming the first pointer where they differ.
fn assert_same_document(expected: &Value, found: &Value, pointer: &str) {
    match (expected, found) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys()) {
                let child = format!("{pointer}/{key}");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => assert_same_document(x, y, &child),
                    (x, y) => panic!("{child}: expected {x:?}, found {y:?}"),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same_document(x, y, &format!("{pointer}/{index}"));
            }
        }
        (a, b) => assert_eq!(a, b, "{pointer}"),
    }
}

#[test]
fn the_chat_import_is_committed() {
    let asyncapi = chat_contract::exporter().asyncapi(&chat_contract::export_options());
    let rust = check_committed_import(&asyncapi, "asyncapi.json", "chat.rs");
    // The perspective is stated, the wire names kept, acks become return types.
    assert!(
        rust.contains("Perspective: the document describes the server"),
        "{rust}"
    );
    assert!(rust.contains("#[emit(name = \"chat message\")]\n    fn say(room: String, text: String) -> ferrio::Acked;"), "{rust}");
    assert!(
        rust.contains(
            "#[on(name = \"typing\")]\n    fn someone_typing(user: String, room: String);"
        ),
        "{rust}"
    );
    assert!(
        rust.contains("fn question(from: String, question: String) -> String;"),
        "{rust}"
    );
}

#[test]
fn the_chat_import_exports_the_same_documents() {
    let original = chat_contract::exporter();
    let imported = imported_chat::exporter();
    let options = chat_contract::export_options();
    assert_eq!(imported_chat::export_options(), options);
    assert_same_document(
        &json(&original.asyncapi(&options)),
        &json(&imported.asyncapi(&imported_chat::export_options())),
        "",
    );
    assert_same_document(
        &json(&original.json_schema(&options)),
        &json(&imported.json_schema(&options)),
        "",
    );
}

#[test]
fn the_every_type_import_is_committed() {
    let asyncapi = every_type_contract::exporter().asyncapi(&every_type_contract::export_options());
    let rust = check_committed_import(&asyncapi, "asyncapi.json", "every_type.rs");
    for expected in [
        "#[serde(tag = \"kind\")]",
        "#[serde(untagged)]",
        "#[serde(deny_unknown_fields)]",
        "pub r#type: String,",
        "#[serde(rename = \"user-name\")]\n    pub user_name: String,",
        "pub huge: i128,",
        "pub uhuge: u128,",
        "pub signed_size: isize,",
        "pub single: f32,",
        "pub counts: std::collections::BTreeMap<String, u32>,",
        "pub pair: (String, i32),",
        "pub nested: Vec<Option<Vec<u16>>>,",
        "pub data: Binary,",
        "fn r#type(r#type: Color, mood: Mood) -> ferrio::Acked;",
        "#[ferrio::socketio_events(namespace = \"/admin-v2\")]",
    ] {
        assert!(rust.contains(expected), "missing {expected:?} in\n{rust}");
    }
}

#[test]
fn the_every_type_import_exports_the_same_documents() {
    let original = every_type_contract::exporter();
    let imported = imported_every_type::exporter();
    let options = every_type_contract::export_options();
    let mut imported_options = imported_every_type::export_options();
    // The export wrote a description listing the namespaces in the order they were added,
    // and the import adds them in another (channels come sorted): compare without it.
    imported_options.description = None;
    let mut expected = json(&original.asyncapi(&options));
    let mut found = json(&imported.asyncapi(&imported_options));
    for document in [&mut expected, &mut found] {
        document["info"]["description"] = Value::Null;
    }
    assert_same_document(&expected, &found, "");
    let mut expected = json(&original.json_schema(&options));
    let mut found = json(&imported.json_schema(&imported_options));
    for document in [&mut expected, &mut found] {
        document["description"] = Value::Null;
    }
    assert_same_document(&expected, &found, "");
}

#[test]
fn imports_are_rustfmt_clean() {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    for file in ["chat.rs", "every_type.rs"] {
        let output = std::process::Command::new(&rustfmt)
            .args(["--edition", "2021", "--check"])
            .arg(committed(file))
            .output()
            .expect("run rustfmt (rustup component add rustfmt)");
        assert!(
            output.status.success(),
            "rustfmt would change {file}:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
