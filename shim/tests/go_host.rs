//! The proof against HashiCorp's own code: runs the Go tests in `tests/go/` (go-plugin v1.8.0's
//! real `plugin.NewClient` host, and hashicorp/yamux v0.1.2 with short timeouts) against the
//! toy plugin built from `test-plugin/main.rs`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[test]
fn go_plugin_host_and_hashicorp_yamux() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go");
    let start = Instant::now();
    let output = Command::new("go")
        .args(["test", "-count=1", "-timeout", "120s", "-v", "./..."])
        .current_dir(&dir)
        .env(
            "SHIM_TEST_PLUGIN",
            env!("CARGO_BIN_EXE_mm-shim-test-plugin"),
        )
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the shim's Go interop tests need Go on PATH (`go test` in {}): {e}",
                dir.display()
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "go test failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // Shown with --nocapture: which Go tests ran and how long they took.
    for line in stdout
        .lines()
        .filter(|l| l.starts_with("--- ") || l.contains(".go:"))
    {
        eprintln!("{line}");
    }
    eprintln!("go test took {:?}", start.elapsed());
}
