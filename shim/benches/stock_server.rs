//! The stock-server benchmarks: a Python plugin through the release-built shim beside a native
//! Go plugin, both loaded by Mattermost's own `plugin.NewEnvironment` in one run
//! (`tests/mmhost/bench_test.go`, `TestShimBesideNativePlugin`, with `SHIM_BENCH=full`).
//! Prints the table and writes it as JSON to `target/bench/shim.json`.
//!
//! Under `cargo test` this does nothing: the same Go test runs as a smoke run (few calls, the
//! answers and the memory bound checked) inside `tests/mattermost_host.rs`.

use std::path::Path;
use std::process::Command;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "stock_server: the smoke run is part of tests/mattermost_host.rs; `cargo xtask bench` measures"
        );
        return;
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = crate_dir.parent().expect("the shim sits in the workspace");
    let venv = root.join(".venv");
    assert!(
        venv.join("bin/python").is_file(),
        "{} has no Python: `cargo xtask bench` creates it",
        venv.display()
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out_dir = target.join("bench");
    std::fs::create_dir_all(&out_dir).expect("target/bench");
    let out = out_dir.join("shim.json");
    let output = Command::new("go")
        .args([
            "test",
            "-count=1",
            "-timeout",
            "900s",
            "-v",
            "-run",
            "^TestShimBesideNativePlugin$",
            ".",
        ])
        .current_dir(crate_dir.join("tests/mmhost"))
        .env("SHIM_BENCH", "full")
        .env("SHIM_BENCH_OUT", &out)
        .env("SHIM_PYTHON_SHIM", env!("CARGO_BIN_EXE_mm-python-shim"))
        .env(
            "SHIM_TEST_VENV",
            venv.canonicalize().expect("the venv's path"),
        )
        .output()
        .expect("the shim benchmarks need Go on PATH");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the shim benchmarks failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for line in stdout.lines().filter(|l| {
        l.starts_with('|') || l.starts_with("shim benchmarks") || l.starts_with("Python child")
    }) {
        println!("{line}");
    }
    println!("written to {}", out.display());
}
