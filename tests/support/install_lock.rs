//! Installing a test peer at most once across processes (`cargo test` runs each suite in a
//! process of its own, several at once): `npm ci`, the python venv, `apt-get install`.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// Runs `install` unless `done()` says it is not needed, under a cross-process lock at
/// `lock` (a directory: `mkdir` is atomic). Another process holding the lock is waited for,
/// and its work checked with `done()`; a lock older than `budget` belongs to a process that
/// died and is taken over. `install` gets the deadline (`budget` from now); `what` names it
/// in the error when another process's install outlasts the budget.
pub(crate) async fn once_across_processes<F, Fut>(
    lock: &Path,
    budget: Duration,
    what: &str,
    done: impl Fn() -> bool,
    install: F,
) -> Result<(), String>
where
    F: FnOnce(Instant) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + budget;
    loop {
        match std::fs::create_dir(lock) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if done() {
                    return Ok(());
                }
                let stale = std::fs::metadata(lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > budget);
                if stale {
                    let _ = std::fs::remove_dir(lock);
                    continue;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "timed out waiting for another process's {what} (lock {})",
                        lock.display()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(format!("cannot create {}: {e}", lock.display())),
        }
    }
    let result = if done() {
        Ok(())
    } else {
        install(deadline).await
    };
    let _ = std::fs::remove_dir(lock);
    result
}
