//! The IR of the pinned Mattermost module agrees exactly with Go's own parser (go/ast), and the
//! front-end is deterministic.

mod common;

use codegen::Ir;
use codegen::source;
use common::*;

fn pinned() -> (String, std::path::PathBuf) {
    let spec = std::fs::read_to_string(workspace_root().join("spec/ir.json"))
        .expect("spec/ir.json exists");
    let version = Ir::from_json(&spec)
        .expect("spec/ir.json parses")
        .source
        .version;
    assert_ne!(
        version, "local",
        "spec/ must pin a module version for the differential test"
    );
    let dir = source::download_module(&version).unwrap_or_else(|e| panic!("{e}"));
    (version, dir)
}

#[test]
fn pinned_module_agrees_with_go_parser() {
    let (version, dir) = pinned();
    let ir = parse_dir(&dir, &version);
    let ours = codegen::projection::project(&ir);
    let go = go_reference(&dir);
    assert_same_projection(&ours, &go);
    // Guard against both sides agreeing on nothing.
    assert!(
        go["services"]["API"].as_array().map_or(0, Vec::len) > 200,
        "API methods read"
    );
    assert!(
        go["services"]["Hooks"].as_array().map_or(0, Vec::len) > 40,
        "hooks read"
    );
    assert!(
        go["types"].as_object().map_or(0, |t| t.len()) > 150,
        "closure read"
    );
}

#[test]
fn pinned_module_parses_deterministically() {
    let (version, dir) = pinned();
    let first = parse_dir(&dir, &version).to_json();
    let second = parse_dir(&dir, &version).to_json();
    assert!(first == second, "two parses of the same source differ");
}
