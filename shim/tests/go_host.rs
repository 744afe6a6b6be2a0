//! The proof against HashiCorp's own code: runs the Go tests in `tests/go/` (go-plugin v1.8.0's
//! real `plugin.NewClient` host, and hashicorp/yamux v0.1.2 with short timeouts) against the
//! toy plugin built from `test-plugin/main.rs`.

mod common;

use std::ffi::OsStr;

#[test]
fn go_plugin_host_and_hashicorp_yamux() {
    common::go_test(
        "go",
        "120s",
        &[(
            "SHIM_TEST_PLUGIN",
            OsStr::new(env!("CARGO_BIN_EXE_mm-shim-test-plugin")),
        )],
    );
}
