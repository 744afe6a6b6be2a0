//! Validation of the generated proto tree: it compiles (protox), `buf lint` passes, and
//! `buf breaking` (WIRE_JSON) finds nothing against the proto of the previous commit that touched it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use codegen::emit::proto::{DIR, ROOT};

/// Problems found, one entry each; empty when the tree is valid.
pub fn validate(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let proto_root = root.join(ROOT);
    let files = crate::files_under(&proto_root, DIR);
    if let Err(e) = protox::compile(&files, [&proto_root]) {
        problems.push(format!("{ROOT} does not compile: {e}"));
        return Ok(problems);
    }
    println!("proto: {} files compile", files.len());

    let buf = ensure_buf()?;
    let lint = Command::new(&buf)
        .arg("lint")
        .current_dir(root)
        .output()
        .context("running buf lint")?;
    if lint.status.success() {
        println!("proto: buf lint clean");
    } else {
        problems.push(format!(
            "buf lint:\n{}{}",
            String::from_utf8_lossy(&lint.stdout),
            String::from_utf8_lossy(&lint.stderr)
        ));
    }

    match previous_proto_commit(root) {
        None => println!("proto: no earlier committed proto to compare with; buf breaking skipped"),
        Some(base) => {
            // The workspace input reads buf.yaml (module path, WIRE_JSON rules) on both sides.
            let against = format!(".git#ref={base}");
            let out = Command::new(&buf)
                .args(["breaking", "--against", &against])
                .current_dir(root)
                .output()
                .context("running buf breaking")?;
            if out.status.success() {
                println!(
                    "proto: no wire/JSON breaking change against {}",
                    &base[..base.len().min(12)]
                );
            } else {
                problems.push(format!(
                    "buf breaking (WIRE_JSON) against {base}:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    Ok(problems)
}

/// The commit whose proto the tree must stay compatible with: the last commit that touched the
/// proto when the work tree changes it, otherwise the one before that.
fn previous_proto_commit(root: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let log = git(&["log", "-2", "--format=%H", "--", ROOT])?;
    let commits: Vec<String> = String::from_utf8_lossy(&log.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let dirty = git(&["status", "--porcelain", "--", ROOT]).is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        commits.first().cloned()
    } else {
        commits.get(1).cloned()
    }
}

/// The `buf` binary from npm (`tools/package.json`), installed on first use.
fn ensure_buf() -> Result<PathBuf> {
    let tools = crate::root().join("tools");
    let buf = tools.join("node_modules/.bin/buf");
    if !buf.exists() {
        let mut cmd = Command::new("npm");
        cmd.args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&tools);
        crate::run(cmd, "npm ci (tools: buf)")?;
    }
    Ok(buf)
}
