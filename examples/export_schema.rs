//! The chat contract (`examples/common/chat_contract.rs`) exported for the other side of the
//! wire: JSON Schema, AsyncAPI 3.0 or TypeScript declarations.
//!
//! ```sh
//! cargo run --example export_schema -- --format json-schema  # one format on stdout
//! cargo run --example export_schema -- --format asyncapi
//! cargo run --example export_schema -- --format typescript
//! cargo run --example export_schema -- --out examples/contract # all three files
//! ```
//!
//! `--out DIR` writes `events.schema.json`, `asyncapi.json` and `events.d.ts` into `DIR`
//! (created when missing). `examples/contract/` holds the committed export, which
//! `tests/contract_drift.rs` checks against the contract: after a change to the contract,
//! refresh it with `cargo run --example export_schema -- --out examples/contract`.

use std::path::PathBuf;
use std::process::ExitCode;

// The contract, shared with the chat example and the suites (`pub`: this program uses only
// part of it).
#[path = "common/chat_contract.rs"]
pub mod chat_contract;

const USAGE: &str = "\
usage: export_schema --format json-schema|asyncapi|typescript   print one format
       export_schema --out DIR                                   write all three files";

/// What the command line asks for.
enum Command {
    Print(Format),
    Write(PathBuf),
}

enum Format {
    JsonSchema,
    AsyncApi,
    TypeScript,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let command = match (args.next().as_deref(), args.next()) {
        (Some("--format"), Some(format)) => Command::Print(match format.as_str() {
            "json-schema" => Format::JsonSchema,
            "asyncapi" => Format::AsyncApi,
            "typescript" => Format::TypeScript,
            other => return Err(format!("unknown format {other:?}")),
        }),
        (Some("--out"), Some(dir)) => Command::Write(PathBuf::from(dir)),
        (Some(flag @ ("--format" | "--out")), None) => return Err(format!("{flag} needs a value")),
        (Some(other), _) => return Err(format!("unexpected argument {other:?}")),
        (None, _) => return Err("nothing to do".into()),
    };
    match args.next() {
        Some(extra) => Err(format!("unexpected argument {extra:?}")),
        None => Ok(command),
    }
}

fn main() -> ExitCode {
    let command = match parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("export_schema: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let exporter = chat_contract::exporter();
    let options = chat_contract::export_options();
    match command {
        Command::Print(format) => {
            let text = match format {
                Format::JsonSchema => exporter.json_schema(&options),
                Format::AsyncApi => exporter.asyncapi(&options),
                Format::TypeScript => exporter.typescript(&options),
            };
            print!("{text}");
        }
        Command::Write(dir) => {
            if let Err(error) = std::fs::create_dir_all(&dir) {
                eprintln!("export_schema: cannot create {}: {error}", dir.display());
                return ExitCode::FAILURE;
            }
            for file in exporter.files(&options) {
                let path = dir.join(file.name);
                if let Err(error) = std::fs::write(&path, file.content) {
                    eprintln!("export_schema: cannot write {}: {error}", path.display());
                    return ExitCode::FAILURE;
                }
                println!("wrote {}", path.display());
            }
        }
    }
    ExitCode::SUCCESS
}
