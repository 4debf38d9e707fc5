//! The committed export of the chat contract (`examples/contract/`) is what the contract
//! (`examples/common/chat_contract.rs`) exports now. A contract change nobody re-exported fails
//! here with ferrio-schema's drift message, which names the stale file, its first stale line
//! and the command that refreshes the directory:
//!
//! ```sh
//! cargo run --example export_schema -- --out examples/contract
//! ```

use std::path::{Path, PathBuf};

use ferrio::schema::{DriftReason, ASYNCAPI_FILE, JSON_SCHEMA_FILE, TYPESCRIPT_FILE};

// The contract, shared with the examples and the other suites (`pub`: this suite uses only
// part of it).
#[path = "../examples/common/chat_contract.rs"]
pub mod chat_contract;

/// The directory of the committed export, relative when the tests run from the package root
/// (as `cargo test` does), so the refresh command in the message is the one to type.
fn contract_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = Path::new("examples").join("contract");
    match std::env::current_dir() {
        Ok(cwd) if cwd == root => relative,
        _ => root.join(relative),
    }
}

#[test]
fn the_committed_export_is_up_to_date() {
    let dir = contract_dir();
    if let Err(drift) = chat_contract::exporter().check_dir(&dir, &chat_contract::export_options())
    {
        panic!("{drift}");
    }
}

#[test]
fn a_stale_export_fails_with_the_refresh_command() {
    let exporter = chat_contract::exporter();
    let options = chat_contract::export_options();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("contract-drift-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("create scratch dir");
    let files = exporter.files(&options);
    let names: Vec<&str> = files.iter().map(|f| f.name).collect();
    assert_eq!(names, [JSON_SCHEMA_FILE, ASYNCAPI_FILE, TYPESCRIPT_FILE]);
    for file in &files {
        std::fs::write(scratch.join(file.name), &file.content).expect("write export");
    }
    assert_eq!(exporter.check_dir(&scratch, &options), Ok(()));

    // The TypeScript declarations as they were before a change to the contract: `share` did
    // not ack yet.
    let typescript = scratch.join(TYPESCRIPT_FILE);
    let stale = std::fs::read_to_string(&typescript)
        .expect("read export")
        .replace(
            "share: (room: string, file: SharedFile, callback: (ack: number) => void) => void;",
            "share: (room: string, file: SharedFile) => void;",
        );
    std::fs::write(&typescript, stale).expect("write stale export");
    let drift = exporter
        .check_dir(&scratch, &options)
        .expect_err("a stale file is drift");
    assert_eq!(drift.path, typescript);
    match &drift.reason {
        DriftReason::Differs {
            expected, found, ..
        } => {
            assert!(expected.contains("callback: (ack: number)"), "{expected}");
            assert!(!found.contains("callback"), "{found}");
        }
        other => panic!("expected a differing line, got {other:?}"),
    }
    let message = drift.to_string();
    assert!(
        message.contains(&format!(
            "refresh it with `cargo run --example export_schema -- --out {}`",
            scratch.display()
        )),
        "{message}"
    );

    // A missing file is drift too.
    std::fs::remove_file(scratch.join(ASYNCAPI_FILE)).expect("remove export");
    let drift = exporter
        .check_dir(&scratch, &options)
        .expect_err("a missing file is drift");
    assert_eq!(drift.reason, DriftReason::Missing);
    let _ = std::fs::remove_dir_all(&scratch);
}
