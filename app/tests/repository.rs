//! Rules about the repository itself, checked on every test run (docs/architecture.md,
//! "How they are held today").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates that are not domain modules: everything else in the workspace is one, so a new
/// module is covered the day it is added.
const SHARED: &[&str] = &["platform", "contracts", "app"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn manifest(path: &Path) -> toml::Table {
    std::fs::read_to_string(path).unwrap().parse().unwrap()
}

fn members() -> Vec<String> {
    let workspace = manifest(&root().join("Cargo.toml"));
    workspace["workspace"]["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect()
}

/// Rule 1: a domain crate depends on `platform` and `contracts`, never on another domain
/// crate (dev-dependencies aside); `platform` depends on no workspace crate but `contracts`.
#[test]
fn domain_crates_depend_only_on_platform_and_contracts() {
    let members = members();
    let domains: Vec<&str> = members.iter().map(String::as_str).filter(|m| !SHARED.contains(m)).collect();
    assert!(domains.len() >= 6, "workspace members not read: {members:?}");
    let mut broken = Vec::new();
    for krate in domains.iter().copied().chain(["platform"]) {
        let toml = manifest(&root().join(krate).join("Cargo.toml"));
        let allowed: &[&str] = if krate == "platform" { &["contracts"] } else { &["platform", "contracts"] };
        // `[dependencies]` and every `[target.*.dependencies]`.
        let mut tables: Vec<&toml::Table> = toml.get("dependencies").and_then(|d| d.as_table()).into_iter().collect();
        if let Some(targets) = toml.get("target").and_then(|t| t.as_table()) {
            tables.extend(targets.values().filter_map(|t| t.get("dependencies")?.as_table()));
        }
        for dependency in tables.iter().flat_map(|t| t.keys()) {
            if members.iter().any(|m| m == dependency) && !allowed.contains(&dependency.as_str()) {
                broken.push(format!("{krate} -> {dependency}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "module boundary broken (docs/architecture.md, rule 1): {broken:?}; move what is shared into \
         contracts and let app wire the implementation"
    );
}

/// The repository documents itself: no tracked file points at documents outside it.
#[test]
fn no_tracked_file_points_outside_the_repository() {
    let output = Command::new("git")
        .current_dir(root())
        .args(["grep", "-l", "-F", concat!("..", "/shared/"), "--", ":!*.lock"])
        .output()
        .expect("git is needed to list tracked files");
    // `git grep` exits 1 when nothing matches, 0 with matches, >1 on errors.
    let code = output.status.code();
    assert!(code == Some(0) || code == Some(1), "git grep failed: {}", String::from_utf8_lossy(&output.stderr));
    let files = String::from_utf8_lossy(&output.stdout);
    assert!(files.trim().is_empty(), "tracked files refer outside the repository (use docs/):\n{files}");
}
