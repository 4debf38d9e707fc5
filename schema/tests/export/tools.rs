//! The npm tools of `tests/tools/` (installed from its lockfile on first use) and running them
//! with a deadline.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// How long `npm ci` may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);
/// A lock directory older than this was left by a process that died: take it over.
const STALE_LOCK: Duration = Duration::from_secs(600);

/// `schema/tests/tools/`.
pub(crate) fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools")
}

/// `schema/tests/fixtures/`.
pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fresh scratch directory under cargo's per-target temp dir, whose `node_modules` is the
/// tools' one (a symlink), so TypeScript resolves `socket.io` from files written there.
pub(crate) fn scratch_dir(name: &str) -> PathBuf {
    let node_modules = node_modules();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    #[cfg(unix)]
    std::os::unix::fs::symlink(node_modules, dir.join("node_modules")).expect("link node_modules");
    dir
}

/// `tests/tools/node_modules`, installed with `npm ci` when missing or older than the
/// lockfile. Threads of one test process install once (a `OnceLock`); test processes running
/// at the same time take turns through a lock directory.
pub(crate) fn node_modules() -> &'static Path {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match INSTALLED.get_or_init(install) {
        Ok(path) => path,
        Err(error) => panic!("installing the npm test tools failed: {error}"),
    }
}

fn install() -> Result<PathBuf, String> {
    let tools = tools_dir();
    let node_modules = tools.join("node_modules");
    let lockfile = std::fs::read(tools.join("package-lock.json"))
        .map_err(|e| format!("tests/tools/package-lock.json: {e}"))?;
    // The marker holds a hash of the lockfile it was installed from.
    let marker = node_modules.join(".ferrio-installed");
    let stamp = format!("{:016x}\n", fnv1a(&lockfile));
    let installed = || std::fs::read_to_string(&marker).is_ok_and(|s| s == stamp);
    require_node(!installed());
    if installed() {
        return Ok(node_modules);
    }

    let lock = tools.join(".install-lock");
    let started = Instant::now();
    loop {
        match std::fs::create_dir(&lock) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let age = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok());
                if age.is_some_and(|age| age > STALE_LOCK) {
                    let _ = std::fs::remove_dir(&lock);
                    continue;
                }
                if started.elapsed() > INSTALL_TIMEOUT {
                    return Err(format!("{} is held by another process", lock.display()));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(format!("{}: {e}", lock.display())),
        }
    }
    let result = if installed() {
        Ok(())
    } else {
        let mut npm = Command::new("npm");
        npm.args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(&tools);
        run(npm, INSTALL_TIMEOUT).and_then(|out| {
            if out.success {
                std::fs::write(&marker, &stamp).map_err(|e| format!("{}: {e}", marker.display()))
            } else {
                Err(format!("npm ci failed:\n{}{}", out.stdout, out.stderr))
            }
        })
    };
    let _ = std::fs::remove_dir(&lock);
    result.map(|()| node_modules)
}

/// Makes sure Node.js 18+ can be run, and npm too when `npm` is true (the tools are not
/// installed yet). When not, this test process writes one line saying so on its standard
/// error, past the test harness's output capture, and exits with status 101 (a failed test
/// binary's): one clear line instead of a panic in each test. It fails rather than skips so
/// that a machine without Node cannot pass a run that checked nothing.
fn require_node(npm: bool) {
    let mut checked = version_of("node").and_then(|version| {
        let major = version
            .trim()
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok());
        match major {
            Some(major) if major >= 18 => Ok(()),
            _ => Err(format!("`node` is {}", version.trim())),
        }
    });
    if npm && checked.is_ok() {
        checked = version_of("npm").map(|_| ());
    }
    if let Err(why) = checked {
        use std::io::Write as _;
        let line = format!(
            "node and npm are needed for this test (Node 18+): install them, or run the \
             tests that need neither: cargo test -p ferrio -p ferrio-macros (README.md, \
             \"Tests without Node\", lists the others) ({why})\n"
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        std::process::exit(101);
    }
}

/// What `bin --version` prints, or why it could not be run.
fn version_of(bin: &str) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{bin}`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{bin} --version` failed ({})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The 64-bit FNV-1a hash.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What a finished command printed.
pub(crate) struct Output {
    pub(crate) success: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `command` to completion, killing it after `timeout`.
pub(crate) fn run(mut command: Command, timeout: Duration) -> Result<Output, String> {
    let shown = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{shown} did not finish within {timeout:?}"));
            }
            Err(e) => return Err(format!("waiting for {shown}: {e}")),
        }
    };
    Ok(Output {
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// `node <args>` in `dir`, which must succeed within `timeout`; returns its stdout.
pub(crate) fn node(dir: &Path, args: &[&std::ffi::OsStr], timeout: Duration) -> String {
    node_modules();
    let mut command = Command::new("node");
    command.args(args).current_dir(dir);
    match run(command, timeout) {
        Ok(out) if out.success => out.stdout,
        Ok(out) => panic!("node {args:?} failed:\n{}{}", out.stdout, out.stderr),
        Err(error) => panic!("{error}"),
    }
}
