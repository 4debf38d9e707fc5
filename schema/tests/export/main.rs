//! The exports of the example contracts, checked by the tools of each ecosystem: the committed
//! snapshots, `@asyncapi/parser`, `tsc --strict` against the real socket.io types, and ajv.
//!
//! `FERRIO_BLESS=1 cargo test -p ferrio-schema --test export` rewrites the snapshots.

mod contract;
mod tools;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use contract::*;
use ferrio_schema::{Exporter, ASYNCAPI_FILE, JSON_SCHEMA_FILE, TYPESCRIPT_FILE};
use serde::Serialize;
use serde_json::{json, Value};

const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// The example exports: the chat namespace alone, the whole service (two namespaces), and the
/// awkward cases.
fn exports() -> [(&'static str, Exporter); 3] {
    [("chat", chat()), ("service", service()), ("edge", edge())]
}

fn snapshot_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name)
}

#[test]
fn snapshots_are_up_to_date() {
    let bless = std::env::var_os("FERRIO_BLESS").is_some_and(|v| v == "1");
    for (name, exporter) in exports() {
        let dir = snapshot_dir(name);
        if bless {
            std::fs::create_dir_all(&dir).expect("create snapshot dir");
            for file in exporter.files(&options()) {
                std::fs::write(dir.join(file.name), file.content).expect("write snapshot");
            }
        } else if let Err(drift) = exporter.check_dir(&dir, &options()) {
            panic!(
                "{drift}\n(these are test snapshots: refresh them with \
                 `FERRIO_BLESS=1 cargo test -p ferrio-schema --test export`)"
            );
        }
    }
}

#[test]
fn exports_are_deterministic_and_share_types_once() {
    let first = service().files(&options());
    assert_eq!(first, service().files(&options()));

    let bundle: Value = serde_json::from_str(&service().json_schema(&options())).expect("json");
    let defs = bundle["$defs"].as_object().expect("$defs");
    let mut names: Vec<&str> = defs.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "/admin",
            "/chat",
            "Attachment",
            "AuditAction",
            "AuditEntry",
            "ChatMessage",
            "KickOutcome",
            "Member",
            "Mood",
            "RoomInfo",
            "Stats"
        ]
    );

    let typescript = service().typescript(&options());
    assert_eq!(
        typescript.matches("export interface ChatMessage ").count(),
        1
    );
    assert!(typescript.contains("export interface ChatClientToServerEvents {"));
    assert!(typescript.contains("export interface AdminServerToClientEvents {"));
    let chat_only = chat().typescript(&options());
    assert!(chat_only.contains("export interface ClientToServerEvents {"));
    assert!(
        chat_only.contains("`uint64` in Rust"),
        "wide integers are documented"
    );
}

/// Writes each export's `file` into a scratch directory, as `<export>/<file>`.
fn write_exports(scratch: &Path, file: &str) -> Vec<PathBuf> {
    exports()
        .into_iter()
        .map(|(name, exporter)| {
            let content = exporter
                .files(&options())
                .into_iter()
                .find(|f| f.name == file)
                .expect("exported file")
                .content;
            let path = scratch.join(name).join(file);
            std::fs::create_dir_all(scratch.join(name)).expect("create dir");
            std::fs::write(&path, content).expect("write export");
            path
        })
        .collect()
}

#[test]
fn asyncapi_documents_pass_the_official_parser_without_warnings() {
    let scratch = tools::scratch_dir("asyncapi");
    let files = write_exports(&scratch, ASYNCAPI_FILE);
    let check = tools::tools_dir().join("check.cjs");
    let mut args: Vec<&OsStr> = vec![check.as_os_str(), OsStr::new("asyncapi")];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let out = tools::node(&scratch, &args, TOOL_TIMEOUT);
    let reports: Value = serde_json::from_str(&out).expect("parser output is JSON");
    let mut problems = Vec::new();
    for report in reports.as_array().expect("one report per file") {
        for diagnostic in report["diagnostics"].as_array().expect("diagnostics") {
            // 0 = error, 1 = warning; information and hints are fine.
            if diagnostic["severity"].as_u64().is_none_or(|s| s <= 1) {
                problems.push(format!("{}: {diagnostic}", report["file"]));
            }
        }
    }
    assert_eq!(reports.as_array().map(Vec::len), Some(files.len()));
    assert!(
        problems.is_empty(),
        "AsyncAPI diagnostics:\n{}",
        problems.join("\n")
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn typescript_declarations_type_real_socket_io_servers_and_clients() {
    let scratch = tools::scratch_dir("typescript");
    write_exports(&scratch, TYPESCRIPT_FILE);
    let fixtures = ["server.ts", "client.ts", "service.ts"];
    for fixture in fixtures {
        std::fs::copy(tools::fixtures_dir().join(fixture), scratch.join(fixture))
            .expect("copy fixture");
    }
    let tsc = tools::tools_dir().join("node_modules/typescript/bin/tsc");
    let mut args: Vec<&OsStr> = [
        tsc.as_os_str(),
        OsStr::new("--strict"),
        OsStr::new("--noEmit"),
        OsStr::new("--pretty"),
        OsStr::new("false"),
        OsStr::new("--target"),
        OsStr::new("es2022"),
        OsStr::new("--module"),
        OsStr::new("esnext"),
        OsStr::new("--moduleResolution"),
        OsStr::new("bundler"),
        OsStr::new("--types"),
        OsStr::new("node"),
    ]
    .to_vec();
    args.extend(fixtures.iter().map(OsStr::new));
    // Nothing imports the awkward cases: compile them on their own.
    args.push(OsStr::new("edge/events.d.ts"));
    // tsc fails on a type error, and on a `@ts-expect-error` line that type-checks.
    tools::node(&scratch, &args, TOOL_TIMEOUT);
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A JSON Pointer into the bundle: `part` (`args` or `ack`) of an event.
fn pointer(namespace: &str, direction: &str, event: &str, part: &str) -> String {
    let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
    format!(
        "/$defs/{}/$defs/{direction}/$defs/{}/$defs/{part}",
        escape(namespace),
        escape(event)
    )
}

fn to_json(value: impl Serialize) -> Value {
    serde_json::to_value(value).expect("serialize example payload")
}

fn message(mood: Mood) -> ChatMessage {
    ChatMessage {
        user: "ann".into(),
        text: "hi".into(),
        sent_at: 1_700_000_000_000,
        mood,
        attachment: Some(Attachment {
            mime: "image/png".into(),
            data: Blob(vec![137, 80, 78, 71]),
        }),
    }
}

#[test]
fn json_schemas_accept_what_rust_sends_and_reject_the_rest() {
    let room = RoomInfo {
        name: "lobby".into(),
        topic: None,
        members: vec![Member {
            id: u64::from(u32::MAX) + 1,
            nick: "ann".into(),
        }],
        created_at: -1,
    };
    let audit = AuditEntry {
        actor: "mod".into(),
        action: AuditAction::Ban {
            user: "bob".into(),
            until: None,
        },
        tags: vec!["spam".into()],
        span: (1, 9),
    };
    let stats = Stats {
        rooms: [("lobby".to_owned(), 2)].into(),
        messages: 10,
        bytes: 1 << 40,
    };
    // (namespace, direction, event, part, payload, valid)
    let cases: Vec<(&str, &str, &str, &str, Value, bool)> = vec![
        ("/chat", "emit", "hello", "args", json!(["ann"]), true),
        ("/chat", "emit", "hello", "args", json!([42]), false),
        ("/chat", "emit", "hello", "args", json!([]), false),
        (
            "/chat",
            "emit",
            "hello",
            "args",
            json!(["ann", "extra"]),
            false,
        ),
        ("/chat", "emit", "join", "args", json!(["lobby"]), true),
        (
            "/chat",
            "emit",
            "join",
            "ack",
            json!([to_json(&room)]),
            true,
        ),
        (
            "/chat",
            "emit",
            "join",
            "ack",
            json!([{"name": "lobby"}]),
            false,
        ),
        (
            "/chat",
            "emit",
            "chat message",
            "args",
            json!(["lobby", "hi"]),
            true,
        ),
        ("/chat", "emit", "chat message", "ack", json!([]), true),
        ("/chat", "emit", "chat message", "ack", json!([1]), false),
        (
            "/chat",
            "on",
            "message",
            "args",
            json!([to_json(message(Mood::Happy))]),
            true,
        ),
        (
            "/chat",
            "on",
            "message",
            "args",
            json!([{"user": "ann"}]),
            false,
        ),
        ("/chat", "on", "poll", "ack", json!([7]), true),
        ("/chat", "on", "poll", "ack", json!([300]), false),
        ("/admin", "emit", "kick", "args", json!(["bob", null]), true),
        ("/admin", "emit", "kick", "args", json!(["bob"]), false),
        (
            "/admin",
            "emit",
            "kick",
            "ack",
            json!([to_json(KickOutcome::Kicked { at: 5 })]),
            true,
        ),
        (
            "/admin",
            "emit",
            "kick",
            "ack",
            json!([to_json(KickOutcome::NotFound)]),
            true,
        ),
        (
            "/admin",
            "emit",
            "kick",
            "ack",
            json!([to_json(KickOutcome::Denied("no".into()))]),
            true,
        ),
        ("/admin", "emit", "kick", "ack", json!(["exploded"]), false),
        ("/admin", "emit", "stats", "args", json!([]), true),
        (
            "/admin",
            "emit",
            "stats",
            "ack",
            json!([to_json(&stats)]),
            true,
        ),
        (
            "/admin",
            "emit",
            "message",
            "args",
            json!(["maintenance at noon"]),
            true,
        ),
        (
            "/admin",
            "on",
            "message",
            "args",
            json!([to_json(message(Mood::Grumpy))]),
            true,
        ),
        (
            "/admin",
            "on",
            "audit",
            "args",
            json!([to_json(&audit)]),
            true,
        ),
        (
            "/admin",
            "on",
            "audit",
            "args",
            json!([{"actor": "mod", "action": {"kind": "mute", "user": "bob"}, "tags": [], "span": [1, 2]}]),
            false,
        ),
        ("/admin", "on", "audit", "ack", json!([]), true),
    ];

    let scratch = tools::scratch_dir("json-schema");
    let bundle = &write_exports(&scratch, JSON_SCHEMA_FILE)[1];
    assert_cases(&scratch, bundle, &cases);

    // Acks of several values and Node's `(err, data)`, in the awkward cases' bundle.
    let edge: Vec<(&str, &str, &str, &str, Value, bool)> = vec![
        ("/", "emit", "roll", "ack", json!([6, "six"]), true),
        ("/", "emit", "roll", "ack", json!([6]), false),
        ("/", "emit", "roll", "ack", json!(["six", 6]), false),
        (
            "/",
            "on",
            "lookup",
            "ack",
            json!([null, {"id": 1, "nick": "ann"}]),
            true,
        ),
        ("/", "on", "lookup", "ack", json!(["no such id"]), true),
        ("/", "on", "lookup", "ack", json!([7]), false),
        ("/", "on", "lookup", "ack", json!([]), false),
    ];
    let bundle = &write_exports(&scratch, JSON_SCHEMA_FILE)[2];
    assert_cases(&scratch, bundle, &edge);
    let _ = std::fs::remove_dir_all(&scratch);
}

/// Validates each case's payload with ajv against the schema at its pointer in `bundle`.
fn assert_cases(scratch: &Path, bundle: &Path, cases: &[(&str, &str, &str, &str, Value, bool)]) {
    let cases_file = scratch.join("cases.json");
    let listed: Vec<Value> = cases
        .iter()
        .map(|(ns, dir, event, part, data, _)| {
            json!({"pointer": pointer(ns, dir, event, part), "data": data})
        })
        .collect();
    std::fs::write(&cases_file, Value::Array(listed).to_string()).expect("write cases");
    let check = tools::tools_dir().join("check.cjs");
    let out = tools::node(
        scratch,
        &[
            check.as_os_str(),
            OsStr::new("json-schema"),
            bundle.as_os_str(),
            cases_file.as_os_str(),
        ],
        TOOL_TIMEOUT,
    );
    let report: Value = serde_json::from_str(&out).expect("ajv output is JSON");
    assert_eq!(report["warnings"], json!([]), "ajv strict mode warnings");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), cases.len());
    let wrong: Vec<String> = cases
        .iter()
        .zip(results)
        .filter(|((.., valid), result)| result["valid"] != json!(valid))
        .map(|((ns, dir, event, part, data, valid), result)| {
            format!("{ns} {dir} {event:?} {part} {data}: expected valid={valid}, ajv: {result}")
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
