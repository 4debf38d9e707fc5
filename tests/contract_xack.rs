//! AsyncAPI documents of Socket.IO tools that declare acks with an `x-ack` extension:
//! sio-asyncapi's (a Flask-SocketIO documenter: `tests/contract_xack/app.py`, its output with
//! sio-asyncapi 0.3.0, AsyncAPI 2.5.0, and 1.0.0, AsyncAPI 3.1.0 with `x-ack` still on the
//! message) and asynction's format (`x-ack: {args: schema}`, `tests/contract_xack/asynction.yaml`,
//! written by hand: asynction reads specs, it writes none). Each is imported (committed next to
//! them, compiled here with `#[deny(warnings)]`) with the acks as return types; an `x-ack`
//! that is no schema is refused with its location.
//!
//! The Python servers are not run here (the suites need Node only); the typed signatures are
//! checked by the compiler below. After a change to the importer, rewrite the imports with
//!
//! ```sh
//! FERRIO_BLESS=1 cargo test --test contract_xack
//! ```

use std::path::{Path, PathBuf};

use ferrio_schema::diff::{diff_texts, FailOn};
use ferrio_schema::import::{import, ImportOptions};

#[deny(warnings)]
#[path = "contract_xack/asynction.rs"]
pub mod asynction;
#[deny(warnings)]
#[path = "contract_xack/sio_asyncapi_v2.rs"]
pub mod sio_asyncapi_v2;
#[deny(warnings)]
#[path = "contract_xack/sio_asyncapi_v3.rs"]
pub mod sio_asyncapi_v3;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract_xack")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).expect("read the document")
}

/// Imports `document` and checks the committed `rust` file holds exactly that.
fn check_import(document: &str, rust: &str) -> String {
    let options = ImportOptions {
        source: Some(document.into()),
        ..ImportOptions::default()
    };
    let imported =
        import(&read(document), &options).unwrap_or_else(|error| panic!("{document}: {error}"));
    let path = dir().join(rust);
    if std::env::var_os("FERRIO_BLESS").is_some() {
        std::fs::write(&path, &imported).expect("write the import");
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == imported,
        "{} is not what the importer writes from {document} now; rewrite it with \
         `FERRIO_BLESS=1 cargo test --test contract_xack` and review the change",
        path.display()
    );
    imported
}

#[test]
fn sio_asyncapi_documents_import_with_their_acks() {
    for (document, rust, kind) in [
        (
            "sio-asyncapi-0.3.0.yaml",
            "sio_asyncapi_v2.rs",
            "AsyncAPI 2 document",
        ),
        (
            "sio-asyncapi-1.0.0.yaml",
            "sio_asyncapi_v3.rs",
            "AsyncAPI 3 document",
        ),
    ] {
        let imported = check_import(document, rust);
        assert!(imported.contains(kind), "{imported}");
        assert!(
            imported.contains("fn join(payload: JoinRequest) -> JoinAck;"),
            "{imported}"
        );
        assert!(
            imported.contains("fn leave(payload: LeaveRequest);"),
            "{imported}"
        );
        assert!(
            imported.contains("#[on]\n    fn message(payload: ChatMessage);"),
            "{imported}"
        );
        // The ack's model, repeated inline by sio-asyncapi 0.3, is the shared type, once.
        assert_eq!(
            imported.matches("pub struct JoinAck").count(),
            1,
            "{imported}"
        );
    }
}

#[test]
fn asynction_documents_import_with_their_acks() {
    let imported = check_import("asynction.yaml", "asynction.rs");
    assert!(
        imported.contains("#[ferrio::socketio_events(namespace = \"/echo\")]"),
        "{imported}"
    );
    assert!(
        imported.contains("fn echo(payload: String) -> String;"),
        "{imported}"
    );
    assert!(
        imported.contains(
            "#[emit(name = \"echo twice\")]\n    fn echo_twice(text: String, times: i32) -> i32;"
        ),
        "{imported}"
    );
    assert!(imported.contains("fn forget(payload: Note);"), "{imported}");
}

/// The imported signatures, checked by the compiler: acks are what the emits return.
#[allow(dead_code)]
async fn typed_signatures(
    v2: &sio_asyncapi_v2::MainEventsSocket,
    v3: &sio_asyncapi_v3::MainEventsSocket,
    echo: &asynction::EchoEventsSocket,
) -> Result<(), ferrio::Error> {
    let request = sio_asyncapi_v2::JoinRequest {
        room: "lobby".into(),
        nickname: None,
    };
    let ack: sio_asyncapi_v2::JoinAck = v2.emit_join(request).await?;
    let _: (bool, Vec<String>, Option<String>) = (ack.success, ack.members, ack.error);
    let request = sio_asyncapi_v3::JoinRequest {
        room: "lobby".into(),
        nickname: Some("ferris".into()),
    };
    let _: sio_asyncapi_v3::JoinAck = v3.emit_join(request).await?;
    let _: String = echo.emit_echo("hi".into()).await?;
    let _: i32 = echo.emit_echo_twice("hi".into(), 2).await?;
    Ok(())
}

#[test]
fn the_two_sio_asyncapi_versions_differ_in_nullability() {
    let report = diff_texts(
        &read("sio-asyncapi-0.3.0.yaml"),
        &read("sio-asyncapi-1.0.0.yaml"),
        Default::default(),
    )
    .expect("diff");
    let rules: Vec<(&str, &str, bool, bool)> = report
        .changes
        .iter()
        .map(|c| {
            (
                c.rule,
                c.pointer.as_str(),
                c.breaks.clients,
                c.breaks.servers,
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            // The request may now hold null: servers of the old contract refuse it.
            (
                "nullable-added",
                "new#/components/schemas/JoinRequest/properties/nickname",
                false,
                true
            ),
            // The ack may now be null: clients of the old contract do not expect it.
            (
                "nullable-added",
                "new#/components/schemas/JoinAck/properties/error",
                true,
                false
            ),
        ],
        "{}",
        report.to_text(FailOn::Any)
    );
}

#[test]
fn an_x_ack_that_is_no_schema_is_refused_with_its_location() {
    let document = read("asynction.yaml").replace(
        "      x-ack:\n        args:\n          type: string\n",
        "      x-ack: yes\n",
    );
    let error = import(&document, &ImportOptions::default()).expect_err("refused");
    assert_eq!(error.location, "#/components/messages/Echo/x-ack");
    assert!(
        error.message.contains("`x-ack` is not an object"),
        "{error}"
    );
}

#[test]
fn imports_are_rustfmt_clean() {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    for file in ["sio_asyncapi_v2.rs", "sio_asyncapi_v3.rs", "asynction.rs"] {
        let output = std::process::Command::new(&rustfmt)
            .args(["--edition", "2021", "--check"])
            .arg(dir().join(file))
            .output()
            .expect("run rustfmt");
        assert!(
            output.status.success(),
            "rustfmt would change {file}:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
