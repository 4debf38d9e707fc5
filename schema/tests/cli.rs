//! The `ferrio-contract` binary: exit codes (0 fine, 1 breaking or drift, 2 bad input), the
//! one-line errors with their location, and the three commands end to end.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrio-contract"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run ferrio-contract")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A scratch directory of this test binary.
fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// The committed export of the chat example.
fn chat_asyncapi() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/contract/asyncapi.json")
        .display()
        .to_string()
}

const YAML: &str = r##"asyncapi: 3.0.0
info:
  title: Echo
  version: 1.0.0
channels:
  main:
    address: /
operations:
  echo:
    action: receive
    channel:
      $ref: "#/channels/main"
    messages:
      - $ref: "#/components/messages/echo"
    reply:
      messages:
        - payload:
            type: array
            items:
              - type: string
components:
  messages:
    echo:
      name: echo
      payload:
        type: array
        items:
          - title: text
            type: string
"##;

#[test]
fn import_writes_rust_from_json_and_yaml() {
    let dir = scratch("import");
    let out = dir.join("chat.rs");
    let output = run(&["import", &chat_asyncapi(), "-o", &out.display().to_string()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rust = std::fs::read_to_string(&out).expect("read import");
    assert!(rust.contains("pub trait ChatEvents {"), "{rust}");

    let yaml = write(&dir, "echo.yaml", YAML);
    let output = run(&["import", &yaml]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rust = stdout(&output);
    assert!(rust.contains("fn echo(text: String) -> String;"), "{rust}");
    assert!(rust.contains("#[emit]"), "{rust}");
    // The other perspective turns the server's `receive` into the client's `#[on]`.
    let output = run(&["import", &yaml, "--perspective", "client"]);
    assert!(
        stdout(&output).contains("#[on]\n    fn echo"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn bad_input_is_one_error_with_its_location_and_exit_code_2() {
    let dir = scratch("bad");
    let recursive = r##"{"asyncapi": "3.0.0", "info": {"title": "t", "version": "1"},
        "channels": {"main": {"address": "/"}},
        "operations": {"o": {"action": "send", "channel": {"$ref": "#/channels/main"},
            "messages": [{"name": "tree", "payload": {"type": "array", "items": [{"$ref": "#/components/schemas/Tree"}]}}]}},
        "components": {"schemas": {"Tree": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}}}}}}"##;
    let unresolved = recursive.replace(
        "#/components/schemas/Tree\"}]",
        "#/components/schemas/Nope\"}]",
    );
    let variadic = r##"{"asyncapi": "3.0.0", "info": {"title": "t", "version": "1"},
        "channels": {"main": {"address": "/"}},
        "operations": {"o": {"action": "receive", "channel": {"$ref": "#/channels/main"},
            "messages": [{"name": "ping", "payload": {"type": "array", "additionalItems": {"format": "any"}}}]}}}"##;
    let reserved = variadic.replace("\"ping\"", "\"disconnect\"");
    let cases = [
        (
            "invalid.json",
            "{\"asyncapi\": \"3.0.0\",",
            "line 1, column 21: invalid JSON",
        ),
        ("invalid.yaml", "asyncapi: [3.0.0\ninfo: {", "invalid YAML"),
        (
            "openapi.json",
            "{\"openapi\": \"3.1.0\"}",
            "the document: not an AsyncAPI document",
        ),
        (
            "v1.json",
            "{\"asyncapi\": \"1.2.0\"}",
            "#/asyncapi: AsyncAPI 1.2.0 is not supported",
        ),
        (
            "recursive.json",
            recursive,
            "#/components/schemas/Tree: a recursive schema (Tree -> Tree)",
        ),
        (
            "unresolved.json",
            &unresolved,
            "unresolved $ref \"#/components/schemas/Nope\"",
        ),
        (
            "variadic.json",
            variadic,
            "#/operations/o/messages/0/payload/additionalItems: any number of further arguments",
        ),
        (
            "reserved.json",
            &reserved,
            "`disconnect` is a reserved Socket.IO event name",
        ),
    ];
    for (name, text, expected) in cases {
        let path = write(&dir, name, text);
        let output = run(&["import", &path]);
        assert_eq!(output.status.code(), Some(2), "{name}: {}", stderr(&output));
        let error = stderr(&output);
        assert!(
            error.contains(expected),
            "{name}: expected {expected:?} in {error:?}"
        );
        assert_eq!(error.lines().count(), 1, "{name}: one line: {error}");
        assert!(!error.contains("panicked"), "{name}: {error}");
    }
    let output = run(&["import", &dir.join("missing.json").display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&[
        "diff",
        &dir.join("invalid.json").display().to_string(),
        &chat_asyncapi(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("old document, line 1, column 21"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn diff_exit_codes_follow_the_level() {
    let dir = scratch("diff");
    let old = chat_asyncapi();
    let text = std::fs::read_to_string(&old).expect("read export");
    // `share` acks with a u32 instead of a u64: a narrowed response, which breaks existing
    // servers (they may send what new clients reject) and Rust source, not clients.
    let new = write(
        &dir,
        "new.json",
        &text.replace("\"format\": \"uint64\"", "\"format\": \"uint32\""),
    );
    let same = run(&["diff", &old, &old]);
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(stdout(&same), "no changes\n");
    let clients = run(&["diff", &old, &new, "--fail-on", "clients"]);
    assert_eq!(clients.status.code(), Some(0), "{}", stdout(&clients));
    assert!(
        stdout(&clients).contains(
            "integer-format-narrowed new#/components/messages/chat.share.ack/payload/items/0"
        ),
        "{}",
        stdout(&clients)
    );
    let servers = run(&["diff", &old, &new, "--fail-on", "servers"]);
    assert_eq!(servers.status.code(), Some(1));
    let json = run(&["diff", &old, &new, "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON output");
    assert_eq!(report["changes"][0]["rule"], "integer-format-narrowed");
    assert_eq!(report["changes"][0]["flow"], "response");
    assert_eq!(report["changes"][0]["breaks"]["servers"], true);
    assert_eq!(report["fails"], true);
    // The JSON Schema bundle of the same contract has the same events: no changes.
    let bundle =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/contract/events.schema.json");
    let mixed = run(&["diff", &old, &bundle.display().to_string()]);
    assert_eq!(stdout(&mixed), "no changes\n");
}

#[test]
fn check_compares_a_committed_export_with_the_crate_s_export_command() {
    let dir = scratch("check");
    let source = dir.join("source");
    let committed = dir.join("committed");
    std::fs::create_dir_all(&source).expect("mkdir");
    std::fs::create_dir_all(&committed).expect("mkdir");
    let text = std::fs::read_to_string(chat_asyncapi()).expect("read export");
    write(&source, "asyncapi.json", &text);
    write(&committed, "asyncapi.json", &text);
    let export = format!("cp {}/asyncapi.json {{}}/", source.display());
    let committed_arg = committed.display().to_string();
    let ok = run(&["check", &committed_arg, "--", "sh", "-c", &export]);
    assert_eq!(ok.status.code(), Some(0), "{}{}", stdout(&ok), stderr(&ok));
    assert!(
        stdout(&ok).contains("is up to date (asyncapi.json)"),
        "{}",
        stdout(&ok)
    );

    // The crate's contract changed; nobody re-exported.
    write(
        &source,
        "asyncapi.json",
        &text.replace(
            "\"required\": [\n          \"name\",\n          \"members\"\n        ]",
            "\"required\": [\n          \"name\"\n        ]",
        ),
    );
    let drift = run(&["check", &committed_arg, "--", "sh", "-c", &export]);
    assert_eq!(
        drift.status.code(),
        Some(1),
        "{}{}",
        stdout(&drift),
        stderr(&drift)
    );
    let out = stdout(&drift);
    assert!(out.contains("asyncapi.json is out of date"), "{out}");
    assert!(out.contains("property-became-optional"), "{out}");
    assert!(
        out.contains(&format!(
            "refresh it with `sh -c cp {}/asyncapi.json {}/`",
            source.display(),
            committed.display()
        )),
        "{out}"
    );

    // An export command that fails is bad input.
    let failed = run(&["check", &committed_arg, "--", "false"]);
    assert_eq!(failed.status.code(), Some(2));
    assert!(
        stderr(&failed).contains("the export command `false` failed"),
        "{}",
        stderr(&failed)
    );
}
