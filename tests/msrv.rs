//! The declared minimum Rust version (`rust-version` in the workspace's `Cargo.toml`) holds
//! for what a user builds: no crate that `ferrio`, `ferrio-macros` or `ferrio-schema` depend on
//! (normal and build dependencies, with every feature of the workspace on, from `Cargo.lock`)
//! declares a newer `rust-version`.
//!
//! Only one toolchain is installed here, so the language features of ferrio's own code are not
//! checked by compiling with the old compiler; its standard library use is (clippy's
//! `incompatible_msrv`, run with `-D warnings` by `.ci/run`, reads the same `rust-version`).

use std::collections::{HashMap, HashSet};
use std::process::Command;

use serde_json::Value;

/// `"1.88"` / `"1.88.0"` as `(1, 88, 0)`.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[test]
fn no_dependency_needs_a_newer_rust_than_declared() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");

    let packages: HashMap<&str, &Value> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("id"), p))
        .collect();
    let declared = packages
        .values()
        .find(|p| p["name"] == "ferrio")
        .and_then(|p| p["rust_version"].as_str())
        .expect("ferrio declares a rust-version");
    let msrv = version(declared);

    // The dependency graph without dev-dependencies.
    let nodes: HashMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|kind| kind["kind"].is_null() || kind["kind"] == "build")
                })
                .map(|dep| dep["pkg"].as_str().expect("pkg"))
                .collect();
            (node["id"].as_str().expect("node id"), deps)
        })
        .collect();

    let mut stack: Vec<&str> = packages
        .iter()
        .filter(|(_, p)| {
            ["ferrio", "ferrio-macros", "ferrio-schema"].contains(&p["name"].as_str().unwrap_or(""))
        })
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(stack.len(), 3, "the three published crates");
    let mut seen = HashSet::new();
    let mut newer = Vec::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let package = packages[id];
        if let Some(needed) = package["rust_version"].as_str() {
            if version(needed) > msrv {
                newer.push(format!(
                    "{} {} needs {needed}",
                    package["name"], package["version"]
                ));
            }
        }
        stack.extend(nodes.get(id).into_iter().flatten());
    }
    assert!(
        seen.len() > 20,
        "walked only {} packages: is the graph read right?",
        seen.len()
    );
    assert!(
        newer.is_empty(),
        "rust-version {declared} is declared, but these dependencies need more:\n{}",
        newer.join("\n")
    );
}
