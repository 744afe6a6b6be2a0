//! Running a Go test module of `tests/` against binaries built here.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// `go test -v ./...` in `tests/<module>` with `env` set; fails the Rust test with Go's output
/// when a Go test fails, and prints which Go tests ran (shown with `--nocapture`).
pub fn go_test(module: &str, timeout: &str, env: &[(&str, &OsStr)]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(module);
    let start = Instant::now();
    let output = Command::new("go")
        .args(["test", "-count=1", "-timeout", timeout, "-v", "./..."])
        .current_dir(&dir)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "these tests need Go on PATH (`go test` in {}): {e}",
                dir.display()
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "go test in {} failed ({}):\n{stdout}\n{stderr}",
        dir.display(),
        output.status
    );
    for line in stdout
        .lines()
        .filter(|l| l.starts_with("--- ") || l.contains(".go:"))
    {
        eprintln!("{line}");
    }
    eprintln!("go test took {:?}", start.elapsed());
}
