//! The Python shim against Mattermost's own plugin package: runs the Go tests in
//! `tests/mmhost/` and `tests/mmhost-v0.1.10/` (`plugin.NewEnvironment` with a fake API, as a
//! stock server loads plugins) against `mm-python-shim` and a small Python plugin using the
//! repository's SDK.
//!
//! Needs Go and the repository's `.venv` with the SDK installed (`cargo xtask test` makes it).

mod common;

use std::ffi::OsStr;
use std::path::Path;

/// server/public v0.4.4 (go-plugin 1.8), the release the contract is generated from.
#[test]
fn python_plugin_on_mattermosts_plugin_environment() {
    run_harness("mmhost");
}

/// server/public v0.1.10 (go-plugin 1.6): an older server, with a smaller API, the same wire.
#[test]
fn python_plugin_on_an_older_servers_plugin_environment() {
    run_harness("mmhost-v0.1.10");
}

fn run_harness(module: &str) {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv");
    assert!(
        venv.join("bin/python").is_file(),
        "{} has no Python: run `cargo xtask test` once to create it with the SDK",
        venv.display()
    );
    let venv = venv.canonicalize().expect("the virtualenv's path");
    common::go_test(
        module,
        "180s",
        &[
            (
                "SHIM_PYTHON_SHIM",
                OsStr::new(env!("CARGO_BIN_EXE_mm-python-shim")),
            ),
            ("SHIM_TEST_VENV", venv.as_os_str()),
            (
                "SHIM_RUST_BENCH_PLUGIN",
                OsStr::new(env!("CARGO_BIN_EXE_mm-shim-bench-plugin")),
            ),
        ],
    );
}
