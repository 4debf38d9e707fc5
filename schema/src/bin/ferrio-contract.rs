//! `ferrio-contract`: the Socket.IO event contract on the command line.
//!
//! ```sh
//! ferrio-contract import asyncapi.yaml -o src/contract.rs    # AsyncAPI -> Rust
//! ferrio-contract diff old/asyncapi.json new/asyncapi.json   # what changed, whom it breaks
//! ferrio-contract check contract/ -- cargo run --example export -- --out {}
//! ferrio-contract rules                                     # the diff's rules
//! ```
//!
//! Exit codes: 0 success (nothing breaks at the chosen level, no drift), 1 breaking changes
//! or drift, 2 bad input (unreadable file, not a contract document, a failed command).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};
use ferrio_schema::diff::{diff_texts, FailOn};
use ferrio_schema::import::{import, ImportOptions};
use ferrio_schema::read::{Perspective, ReadError};
use ferrio_schema::{check_export_dir, ASYNCAPI_FILE};

fn cli() -> Command {
    let perspective = Arg::new("perspective")
        .long("perspective")
        .value_parser(["server", "client"])
        .default_value("server")
        .help("Which side the AsyncAPI document describes: `server` (its `send` is the client's #[on]) or `client`");
    Command::new("ferrio-contract")
        .about("Import, diff and check Socket.IO event contracts (AsyncAPI 3.0/2.x, ferrio's JSON Schema bundle)")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("import")
                .about("AsyncAPI (JSON or YAML) -> Rust: payload types and one #[ferrio::socketio_events] trait per namespace")
                .arg(Arg::new("file").required(true).help("The AsyncAPI document"))
                .arg(Arg::new("out").short('o').long("out").help("Write the Rust source here instead of standard output"))
                .arg(perspective.clone()),
        )
        .subcommand(
            Command::new("diff")
                .about("Every change between two contract documents, and whom it breaks")
                .arg(Arg::new("old").required(true).help("The old document (AsyncAPI or the JSON Schema bundle)"))
                .arg(Arg::new("new").required(true).help("The new document"))
                .arg(
                    Arg::new("fail-on")
                        .long("fail-on")
                        .value_parser(["clients", "servers", "source", "any"])
                        .default_value("any")
                        .help("Exit with 1 when a change breaks: existing clients, existing servers, Rust/TypeScript source, or anybody"),
                )
                .arg(
                    Arg::new("format")
                        .long("format")
                        .value_parser(["text", "json"])
                        .default_value("text")
                        .help("`text` for people, `json` for CI"),
                )
                .arg(perspective),
        )
        .subcommand(Command::new("rules").about("Print the diff's rules as a Markdown table"))
        .subcommand(
            Command::new("check")
                .about("Check that a committed export directory is what the crate exports now")
                .arg(Arg::new("dir").required(true).help("The committed export directory"))
                .arg(
                    Arg::new("command")
                        .required(true)
                        .num_args(1..)
                        .last(true)
                        .action(ArgAction::Append)
                        .help("After `--`: the crate's export command; `{}` in it stands for the directory to write (else it gets FERRIO_CONTRACT_OUT)"),
                ),
        )
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let result = match matches.subcommand() {
        Some(("import", args)) => run_import(args),
        Some(("diff", args)) => run_diff(args),
        Some(("check", args)) => run_check(args),
        Some(("rules", _)) => {
            print!("{}", ferrio_schema::diff::rules::markdown_table());
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(Failure::Usage("no command".into())),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("ferrio-contract: {failure}");
            ExitCode::from(2)
        }
    }
}

/// Why a command could not do its work (exit code 2).
enum Failure {
    Usage(String),
    Io(PathBuf, std::io::Error),
    Document(String, ReadError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(text) => f.write_str(text),
            Failure::Io(path, error) => write!(f, "{}: {error}", path.display()),
            Failure::Document(file, error) => write!(f, "{file}: {error}"),
        }
    }
}

fn perspective(args: &ArgMatches) -> Perspective {
    match args.get_one::<String>("perspective").map(String::as_str) {
        Some("client") => Perspective::Client,
        _ => Perspective::Server,
    }
}

fn read(path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|error| Failure::Io(PathBuf::from(path), error))
}

fn run_import(args: &ArgMatches) -> Result<ExitCode, Failure> {
    let file = args.get_one::<String>("file").cloned().unwrap_or_default();
    let text = read(&file)?;
    let options = ImportOptions {
        perspective: perspective(args),
        source: Path::new(&file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
    };
    let rust = import(&text, &options).map_err(|error| Failure::Document(file.clone(), error))?;
    match args.get_one::<String>("out") {
        Some(out) => {
            std::fs::write(out, rust).map_err(|error| Failure::Io(PathBuf::from(out), error))?;
            eprintln!("wrote {out}");
        }
        None => print!("{rust}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn run_diff(args: &ArgMatches) -> Result<ExitCode, Failure> {
    let old = args.get_one::<String>("old").cloned().unwrap_or_default();
    let new = args.get_one::<String>("new").cloned().unwrap_or_default();
    let level = args
        .get_one::<String>("fail-on")
        .and_then(|l| FailOn::parse(l))
        .unwrap_or_default();
    let report = diff_texts(&read(&old)?, &read(&new)?, perspective(args)).map_err(|error| {
        let file = if error.location.starts_with("old") {
            &old
        } else {
            &new
        };
        Failure::Document(file.clone(), error)
    })?;
    match args.get_one::<String>("format").map(String::as_str) {
        Some("json") => print!("{}", report.to_json(level)),
        _ => print!("{}", report.to_text(level)),
    }
    Ok(if report.fails(level) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_check(args: &ArgMatches) -> Result<ExitCode, Failure> {
    let dir = PathBuf::from(args.get_one::<String>("dir").cloned().unwrap_or_default());
    let command: Vec<String> = args
        .get_many::<String>("command")
        .map(|c| c.cloned().collect())
        .unwrap_or_default();
    let fresh = std::env::temp_dir().join(format!("ferrio-contract-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh).map_err(|error| Failure::Io(fresh.clone(), error))?;
    let result = check_with(&dir, &fresh, &command);
    let _ = std::fs::remove_dir_all(&fresh);
    result
}

fn check_with(dir: &Path, fresh: &Path, command: &[String]) -> Result<ExitCode, Failure> {
    let fill = |target: &Path| -> Vec<String> {
        command
            .iter()
            .map(|part| part.replace("{}", &target.display().to_string()))
            .collect()
    };
    let run = fill(fresh);
    let Some((program, rest)) = run.split_first() else {
        return Err(Failure::Usage(
            "check needs the export command after `--`".into(),
        ));
    };
    let status = std::process::Command::new(program)
        .args(rest)
        .env("FERRIO_CONTRACT_OUT", fresh)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|error| Failure::Usage(format!("cannot run `{program}`: {error}")))?;
    if !status.success() {
        return Err(Failure::Usage(format!(
            "the export command `{}` failed ({status})",
            run.join(" ")
        )));
    }
    let refresh = fill(dir).join(" ");
    match check_export_dir(dir, fresh) {
        Ok(names) if names.is_empty() => Err(Failure::Usage(format!(
            "the export command wrote nothing into {{}} ({})",
            fresh.display()
        ))),
        Ok(names) => {
            println!("{} is up to date ({})", dir.display(), names.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Err(drift) => {
            println!("{}", drift.problem());
            let committed = dir.join(ASYNCAPI_FILE);
            let exported = fresh.join(ASYNCAPI_FILE);
            if let (Ok(old), Ok(new)) = (
                std::fs::read_to_string(&committed),
                std::fs::read_to_string(&exported),
            ) {
                if let Ok(report) = diff_texts(&old, &new, Perspective::Server) {
                    println!("what changed in {}:", committed.display());
                    print!("{}", report.to_text(FailOn::Any));
                }
            }
            println!("refresh it with `{refresh}` and commit the result");
            Ok(ExitCode::from(1))
        }
    }
}
