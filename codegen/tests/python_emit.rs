//! The Python emitter on the fixture: snapshots of the client (both flavours, every API shape)
//! and the hooks module, and determinism. The real package (generated/python) is checked by
//! ruff, `mypy --strict` and pytest in `cargo xtask test`.

mod common;

use codegen::emit::proto::FieldLock;
use common::*;

#[test]
fn shapes_fixture_python() {
    let ir = parse_fixture("shapes");
    let (schema, _) = codegen::emit::proto::build(&ir, &FieldLock::default()).unwrap();
    let proto = codegen::emit::proto::render_all(&ir, &schema).unwrap();
    let contract = codegen::emit::proto::Contract::new(&proto).unwrap();
    let files = codegen::emit::python::emit(&ir, &schema, &contract).unwrap();
    let again = codegen::emit::python::emit(&ir, &schema, &contract).unwrap();
    assert_eq!(files, again, "the Python emitter is deterministic");

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    for name in ["client.py", "hooks.py"] {
        let file = files
            .iter()
            .find(|f| f.path.ends_with(&format!("mattermost_plugin_api/{name}")))
            .unwrap();
        let stem = name.trim_end_matches(".py");
        settings.bind(|| insta::assert_snapshot!(format!("python__shapes_{stem}"), file.contents));
    }
    // The plain Python modules are copied as they stand, under the generated-file header.
    for m in codegen::emit::python::STATIC_MODULES {
        let file = files
            .iter()
            .find(|f| {
                f.path
                    .ends_with(&format!("mattermost_plugin_api/{}", m.path))
            })
            .unwrap_or_else(|| panic!("{} is emitted", m.path));
        assert!(file.contents.starts_with("# Code generated"), "{}", m.path);
        assert!(file.contents.ends_with(m.contents), "{}", m.path);
    }
}
