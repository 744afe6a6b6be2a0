//! Shared helpers for the front-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use codegen::Ir;
use codegen::ir::{HookDefault, Special};
use codegen::ir::{ServiceKind, SourceInfo};
use codegen::source::{MODULE_PATH, SourceSet};
use codegen::special::{SpecialCases, row};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen/ has a parent")
        .to_path_buf()
}

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn info(version: &str) -> SourceInfo {
    SourceInfo {
        module: MODULE_PATH.into(),
        version: version.into(),
    }
}

/// The special-case table of the `shapes` fixture's tiny API.
pub const FIXTURE_SPECIAL: SpecialCases = SpecialCases {
    rows: &[
        row(ServiceKind::Api, "Forward", Special::PluginHttp),
        row(ServiceKind::Api, "LogThing", Special::LogKeyValues),
        row(ServiceKind::Api, "Upload", Special::ReaderUpload),
        row(
            ServiceKind::Hooks,
            "FileWillBeStored",
            Special::FileUploadStream,
        ),
        row(ServiceKind::Hooks, "ServeHTTP", Special::HttpStream),
    ],
    hook_defaults: &[
        ("FileWillBeStored", HookDefault::ReturnParam(1)),
        ("ServeHTTP", HookDefault::NotFound),
    ],
};

/// No special cases at all.
pub const NO_SPECIAL: SpecialCases = SpecialCases {
    rows: &[],
    hook_defaults: &[],
};

/// Parses the pinned Mattermost module (its own special-case table).
pub fn parse_dir(dir: &Path, version: &str) -> Ir {
    parse_dir_with(dir, version, codegen::special::MATTERMOST)
}

pub fn parse_fixture(name: &str) -> Ir {
    parse_dir_with(&fixture_dir(name), "fixture", FIXTURE_SPECIAL)
}

pub fn parse_dir_with(dir: &Path, version: &str, special: SpecialCases) -> Ir {
    let set = SourceSet::from_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    codegen::parse::parse_with(&set, info(version), special)
        .unwrap_or_else(|e| panic!("parsing {}:\n{e}", dir.display()))
}

/// Runs the Go reference reader (standard library go/ast only) on a `server/public`-shaped dir.
pub fn go_reference(dir: &Path) -> serde_json::Value {
    let output = Command::new("go")
        .args(["run", "."])
        .arg(dir)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go-reference"))
        .output()
        .expect("the differential test needs Go on PATH");
    assert!(
        output.status.success(),
        "the Go reference reader failed on {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the Go reference prints JSON")
}

/// Asserts two projections are equal, listing every differing entry instead of two huge blobs.
pub fn assert_same_projection(ours: &serde_json::Value, go: &serde_json::Value) {
    if ours == go {
        return;
    }
    let mut report = Vec::new();
    for section in ["services", "hook_ids", "types", "externals"] {
        let (a, b) = (&ours[section], &go[section]);
        if a == b {
            continue;
        }
        match (a.as_object(), b.as_object()) {
            (Some(a), Some(b)) => {
                for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                    if a.get(key) != b.get(key) {
                        report.push(format!(
                            "{section}.{key}:\n  tree-sitter: {}\n  go/ast:      {}",
                            a.get(key)
                                .map(|v| v.to_string())
                                .unwrap_or("<absent>".into()),
                            b.get(key)
                                .map(|v| v.to_string())
                                .unwrap_or("<absent>".into())
                        ));
                    }
                }
            }
            _ => report.push(format!(
                "{section}:\n  tree-sitter: {a}\n  go/ast:      {b}"
            )),
        }
    }
    panic!(
        "the IR disagrees with Go's parser in {} place(s):\n{}",
        report.len(),
        report.join("\n")
    );
}
