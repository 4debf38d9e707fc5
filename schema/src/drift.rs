//! Telling whether committed export files are still what the contracts export.

use std::fmt;
use std::path::{Path, PathBuf};

/// The command that rewrites the exported files of this workspace's example contract; `DIR` is
/// the directory they live in. A crate's own check ([`crate::Exporter::verify_dir`]) names
/// its own refresh instead.
pub const REFRESH_COMMAND: &str = "cargo run --example export_schema -- --out DIR";

/// The environment variable that makes [`crate::Exporter::verify_dir`] rewrite the export
/// instead of checking it.
pub const BLESS_VAR: &str = "FERRIO_BLESS";

/// A committed export file that is not what the contracts export now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// The file checked.
    pub path: PathBuf,
    /// How it differs.
    pub reason: DriftReason,
    /// The command that refreshes it, when not [`REFRESH_COMMAND`] (a crate's own).
    pub refresh: Option<String>,
}

/// How a committed export file differs from a fresh export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriftReason {
    /// The file does not exist.
    Missing,
    /// The file could not be read (the I/O error's text).
    Unreadable(String),
    /// The file's text differs, first at `line` (1-based).
    Differs {
        /// The first line that differs, counting from 1.
        line: usize,
        /// That line in the fresh export (empty past its end).
        expected: String,
        /// That line in the committed file (empty past its end).
        found: String,
    },
}

impl Drift {
    /// The command that refreshes the file's directory ([`REFRESH_COMMAND`] with `DIR`
    /// filled in).
    pub fn refresh_command(&self) -> String {
        if let Some(refresh) = &self.refresh {
            return refresh.clone();
        }
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.display().to_string(),
            _ => ".".to_owned(),
        };
        REFRESH_COMMAND.replace("DIR", &dir)
    }
}

impl Drift {
    /// What is wrong, without the refresh command (for tools that refresh otherwise, such as
    /// `ferrio-contract check`).
    pub fn problem(&self) -> String {
        let path = self.path.display();
        match &self.reason {
            DriftReason::Missing => format!("exported contract file {path} is missing"),
            DriftReason::Unreadable(error) => {
                format!("exported contract file {path} cannot be read: {error}")
            }
            DriftReason::Differs {
                line,
                expected,
                found,
            } => format!(
                "exported contract file {path} is out of date: line {line} is {found:?}, \
                 the contract now exports {expected:?}"
            ),
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; refresh it with `{}` and commit the result",
            self.problem(),
            self.refresh_command()
        )
    }
}

/// Checks that the committed export directory `committed` holds every file of a fresh
/// export in `fresh` (as written by a crate's own export command), with the same text.
/// Returns the names of the files checked, or the first drift (whose `path` is in
/// `committed`).
///
/// This is `ferrio-contract check` as a function, for a crate whose export runs as a
/// program rather than in a test ([`crate::Exporter::check_dir`] is the in-process form).
pub fn check_export_dir(committed: &Path, fresh: &Path) -> Result<Vec<String>, Drift> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(fresh).map_err(|error| Drift {
        path: fresh.to_owned(),
        reason: DriftReason::Unreadable(error.to_string()),
        refresh: None,
    })?;
    for entry in entries.flatten() {
        if entry.path().is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    for name in &names {
        let expected = std::fs::read_to_string(fresh.join(name)).map_err(|error| Drift {
            path: fresh.join(name),
            reason: DriftReason::Unreadable(error.to_string()),
            refresh: None,
        })?;
        check_up_to_date(committed.join(name), &expected)?;
    }
    Ok(names)
}

impl std::error::Error for Drift {}

/// Checks that the file at `path` holds exactly `expected` (ignoring `\r\n` versus `\n` line
/// ends, which git may rewrite on checkout).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("ferrio-drift-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("asyncapi.json");
/// std::fs::write(&path, "{}\n").unwrap();
/// assert!(ferrio_schema::check_up_to_date(&path, "{}\n").is_ok());
/// let drift = ferrio_schema::check_up_to_date(&path, "{\"a\": 1}\n").unwrap_err();
/// assert!(drift.to_string().contains("cargo run --example export_schema -- --out"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn check_up_to_date(path: impl AsRef<Path>, expected: &str) -> Result<(), Drift> {
    let path = path.as_ref();
    let drift = |reason| Drift {
        refresh: None,
        path: path.to_owned(),
        reason,
    };
    let found = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(drift(DriftReason::Missing));
        }
        Err(error) => return Err(drift(DriftReason::Unreadable(error.to_string()))),
    };
    let found = found.replace("\r\n", "\n");
    let expected = expected.replace("\r\n", "\n");
    if found == expected {
        return Ok(());
    }
    let mut found_lines = found.split('\n');
    let mut expected_lines = expected.split('\n');
    let mut line = 1;
    loop {
        match (expected_lines.next(), found_lines.next()) {
            (Some(e), Some(f)) if e == f => line += 1,
            (e, f) => {
                return Err(drift(DriftReason::Differs {
                    line,
                    expected: e.unwrap_or_default().to_owned(),
                    found: f.unwrap_or_default().to_owned(),
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_directory_to_refresh() {
        let drift = Drift {
            refresh: None,
            path: PathBuf::from("schema/asyncapi.json"),
            reason: DriftReason::Differs {
                line: 3,
                expected: "b".into(),
                found: "a".into(),
            },
        };
        assert_eq!(
            drift.to_string(),
            "exported contract file schema/asyncapi.json is out of date: line 3 is \"a\", the \
             contract now exports \"b\"; refresh it with `cargo run --example export_schema -- \
             --out schema` and commit the result"
        );
    }

    #[test]
    fn a_missing_file_is_drift() {
        let drift = check_up_to_date("/nonexistent/ferrio/events.d.ts", "x");
        assert_eq!(drift.map_err(|d| d.reason), Err(DriftReason::Missing));
    }
}

#[cfg(test)]
mod verify_tests {
    use crate::{ExportOptions, Exporter};

    /// A crate's own check: missing files fail with the crate's own refresh command; with
    /// the bless variable the directory is written, and then the check passes.
    #[test]
    fn verify_dir_names_the_crates_own_refresh_and_blesses() {
        let dir = std::env::temp_dir().join(format!("ferrio-verify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let exporter = Exporter::new();
        let options = ExportOptions::default();
        // The variable may be set by whoever runs the tests: only the unset case is asserted
        // through `verify_dir`; the blessing is `write_dir`, which it calls.
        if std::env::var_os(super::BLESS_VAR).is_none() {
            let drift = exporter
                .verify_dir(&dir, &options)
                .expect_err("nothing committed");
            let message = drift.to_string();
            assert!(message.contains("FERRIO_BLESS=1 cargo test"), "{message}");
            assert!(!message.contains("export_schema"), "{message}");
        }
        exporter.write_dir(&dir, &options).expect("written");
        assert!(exporter.check_dir(&dir, &options).is_ok());
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
