//! The Rust emitter on the fixture: snapshots of the trait and adapter glue, and determinism.
//! The real crate (generated/rust) is a workspace member, so it is compiled and tested by
//! `cargo test --workspace`.

mod common;

use codegen::emit::proto::FieldLock;
use common::*;

#[test]
fn shapes_fixture_glue() {
    let ir = parse_fixture("shapes");
    let (schema, _) = codegen::emit::proto::build(&ir, &FieldLock::default()).unwrap();
    let proto = codegen::emit::proto::render_all(&ir, &schema).unwrap();
    let contract = codegen::emit::proto::Contract::new(&proto).unwrap();
    let files = codegen::emit::rust::emit(&ir, &schema, &contract).unwrap();
    let again = codegen::emit::rust::emit(&ir, &schema, &contract).unwrap();
    assert_eq!(files, again, "the Rust emitter is deterministic");

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    for name in ["api.rs", "hooks.rs", "lib.rs"] {
        let file = files
            .iter()
            .find(|f| f.path.ends_with(&format!("src/{name}")))
            .unwrap();
        let stem = name.trim_end_matches(".rs");
        settings.bind(|| insta::assert_snapshot!(format!("rust__shapes_{stem}"), file.contents));
    }
    // The prost/tonic code is there too, for every message.
    let pb = files
        .iter()
        .find(|f| f.path.ends_with("src/pb.rs"))
        .unwrap();
    for message in [
        "pub struct Member",
        "pub struct ServeHttpRequest",
        "pub mod plugin_api_server",
        "pub mod plugin_hooks_client",
    ] {
        assert!(pb.contents.contains(message), "{message}");
    }
}
