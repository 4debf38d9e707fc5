//! The python-socketio peer (`tests/peer-python/server.py`: python-socketio's `AsyncServer`
//! on its aiohttp driver), for `tests/python_peer.rs`.
//!
//! Its packages are installed by the support itself into `tests/peer-python/.venv`
//! (`python3 -m venv`, then `pip install --no-deps -r requirements.txt`: every package is
//! listed there with its exact version, so nothing unpinned comes in; `pip check` then says
//! if the list lacks one), once per process and
//! under a lock across processes, like `npm ci` for the Node peer. The venv records the
//! requirements it was made from (`.venv/ferrio-requirements.txt`); a changed list makes a
//! new venv.
//!
//! When Python 3 or its `venv` module is missing or PyPI cannot be reached,
//! [`PythonPeer::start`] gives `Err(reason)` and [`skip`] prints one line saying so;
//! `FERRIO_REQUIRE_PYTHON_PEER=1` turns that into a failure. `FERRIO_PYTHON` names the
//! interpreter (default `python3`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::process::{run_to_end, ProgramSpec, ServerProcess};

/// How long making the venv and installing the packages may take.
pub const PIP_DEADLINE: Duration = Duration::from_secs(300);

/// `tests/peer-python`.
pub fn python_peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("peer-python")
}

fn venv_python(dir: &Path) -> PathBuf {
    dir.join(".venv").join("bin").join("python")
}

/// The venv is complete and made from the current `requirements.txt`.
fn installed(dir: &Path) -> bool {
    let wanted = std::fs::read(dir.join("requirements.txt")).ok();
    let made_from = std::fs::read(dir.join(".venv").join("ferrio-requirements.txt")).ok();
    wanted.is_some() && wanted == made_from && venv_python(dir).is_file()
}

/// Makes sure `tests/peer-python/.venv` holds the pinned packages, installing them at most
/// once per process and once across concurrent processes.
pub async fn ensure_venv() -> Result<(), String> {
    static ONCE: OnceCell<Result<(), String>> = OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let dir = python_peer_dir();
        if installed(&dir) {
            return Ok(());
        }
        install_locked(&dir).await
    })
    .await
    .clone()
}

async fn install_locked(dir: &Path) -> Result<(), String> {
    crate::install_lock::once_across_processes(
        &dir.join(".install.lock"),
        PIP_DEADLINE,
        "install",
        || installed(dir),
        |deadline| install(dir, deadline),
    )
    .await
}

async fn install(dir: &Path, deadline: Instant) -> Result<(), String> {
    let venv = dir.join(".venv");
    let _ = std::fs::remove_dir_all(&venv);
    let python = std::env::var_os("FERRIO_PYTHON").unwrap_or_else(|| "python3".into());
    run_to_end(
        Command::new(&python).args(["-m", "venv"]).arg(&venv),
        deadline,
    )
    .await?;
    run_to_end(
        Command::new(venv_python(dir))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "--no-deps",
                "-r",
            ])
            .arg(dir.join("requirements.txt")),
        deadline,
    )
    .await?;
    // `--no-deps` installs the list as it is: a package it lacks shows here, by name.
    run_to_end(
        Command::new(venv_python(dir)).args(["-m", "pip", "check", "--disable-pip-version-check"]),
        deadline,
    )
    .await?;
    // Written last: its presence says the venv is complete.
    std::fs::copy(
        dir.join("requirements.txt"),
        venv.join("ferrio-requirements.txt"),
    )
    .map_err(|e| format!("cannot record the requirements in {}: {e}", venv.display()))?;
    Ok(())
}

/// The python-socketio server of `server.py` (handlers documented there).
#[derive(Debug)]
pub struct PythonPeer {
    process: ServerProcess,
}

impl PythonPeer {
    /// Starts `server.py` on a free port with these extra arguments (e.g.
    /// `--ping-interval=300`). `Err` only when the venv cannot be made; panics when it is
    /// there and the server does not start.
    pub async fn start(args: &[&str]) -> Result<PythonPeer, String> {
        ensure_venv().await?;
        let dir = python_peer_dir();
        let mut all = vec!["server.py".to_owned(), "{port}".to_owned()];
        all.extend(args.iter().map(|a| a.to_string()));
        let process = ServerProcess::start(ProgramSpec {
            name: "python-socketio server".into(),
            program: venv_python(&dir),
            args: all,
            dir,
            env: vec![("PYTHONUNBUFFERED".into(), "1".into())],
            port: None,
        })
        .await;
        Ok(PythonPeer { process })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.process.url()
    }

    /// The process, to stop, kill, restart or read its output.
    pub fn process(&mut self) -> &mut ServerProcess {
        &mut self.process
    }

    /// Its output lines after `LISTENING` (`CONNECT <nsp>` per connection attempt).
    pub fn lines(&self) -> Vec<String> {
        self.process.lines()
    }
}

/// For a test that could not get the Python peer: prints one line (once per process and
/// reason) and returns true, so the test returns; panics instead when
/// `FERRIO_REQUIRE_PYTHON_PEER=1`.
pub fn skip(reason: &str) -> bool {
    if std::env::var("FERRIO_REQUIRE_PYTHON_PEER").is_ok_and(|v| v == "1") {
        panic!("no python-socketio peer (FERRIO_REQUIRE_PYTHON_PEER=1): {reason}");
    }
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|r| r == reason) {
        eprintln!("SKIPPED python-socketio tests (no peer: {reason})");
        said.push(reason.to_owned());
    }
    true
}
