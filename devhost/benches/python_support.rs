//! What the Python benches share: finding the interpreter and readying its packages. Included
//! with `#[path = "python_support.rs"] mod python_support;`. (Cargo also builds it as a bench
//! target of its own, which does nothing.)
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The interpreter and the directory of the bench scripts, with the packages checked and their
/// bytecode compiled: what every Python bench does first.
pub fn ready(smoke: bool, bench: &str) -> Result<(PathBuf, PathBuf), String> {
    let root = workspace_root();
    let scripts = root.join("devhost/benches/python");
    let python = python(&root, smoke, bench)?;
    prepare(&python, &root, &scripts)?;
    Ok((python, scripts))
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("devhost sits in the workspace")
        .to_path_buf()
}

/// `$MM_BENCH_PYTHON`, else the repository's `.venv`. A smoke run (a plain `cargo test`) on a
/// machine without the venv exits quietly: `cargo xtask test` always has it.
pub fn python(root: &Path, smoke: bool, bench: &str) -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("MM_BENCH_PYTHON") {
        return Ok(python.into());
    }
    let venv = root.join(".venv/bin/python");
    if !venv.is_file() && smoke {
        println!(
            "{bench} smoke run: no {} yet (`cargo xtask test` creates it); nothing to run",
            venv.display()
        );
        std::process::exit(0);
    }
    if !venv.is_file() {
        return Err(format!(
            "no Python interpreter: MM_BENCH_PYTHON is not set and {} does not exist \
             (`cargo xtask bench` or `cargo xtask test` creates it)",
            venv.display()
        ));
    }
    Ok(venv)
}

/// Checks the interpreter has the packages, then compiles their bytecode: with
/// PYTHONDONTWRITEBYTECODE set, every import would otherwise recompile the sources, which an
/// installed wheel (shipped with bytecode) never does.
pub fn prepare(python: &Path, root: &Path, scripts: &Path) -> Result<(), String> {
    let check = std::process::Command::new(python)
        .args([
            "-c",
            "import grpc, mattermost_plugin, mattermost_plugin_api",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !check.status.success() {
        return Err(format!(
            "{} cannot import grpc, mattermost_plugin and mattermost_plugin_api \
             (`cargo xtask test` sets up .venv with them):\n{}",
            python.display(),
            String::from_utf8_lossy(&check.stderr)
        ));
    }
    let status = std::process::Command::new(python)
        .args(["-m", "compileall", "-q"])
        .arg(root.join("generated/python/src"))
        .arg(root.join("sdk/python/src"))
        .arg(scripts)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("compileall: {e}"))?;
    if !status.success() {
        return Err(format!("compileall failed ({status})"));
    }
    Ok(())
}
