//! Keeps `docs/DEV_HOST.md` true: its "Modelled methods" section names exactly the Go methods
//! `MemoryBackend` implements (every other method answers 501).
//!
//! The implemented methods are the `async fn`s of `impl PluginApi for MemoryBackend` in
//! `src/backend/memory/api.rs`; their Go names come from the generated trait, where each method
//! follows a `/// Go: \`Name(…)\`` line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mattermost_plugin_api::api::API_METHODS;

const DOC: &str = "docs/DEV_HOST.md";
const SECTION: &str = "## Modelled methods";

fn read(relative_to_workspace: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative_to_workspace);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The identifier after `prefix` on a trimmed line, up to `(`.
fn name_after<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix(prefix)?;
    let (name, _) = rest.split_once('(')?;
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

/// Rust method name → Go method name, from the generated `PluginApi` trait.
fn go_names() -> BTreeMap<String, String> {
    let generated = read("generated/rust/src/api.rs");
    let start = generated
        .find("pub trait PluginApi")
        .expect("the generated crate declares trait PluginApi");
    let mut names = BTreeMap::new();
    let mut pending_go: Option<String> = None;
    for line in generated[start..].lines() {
        if let Some(go) = name_after(line, "/// Go: `") {
            pending_go = Some(go.to_string());
        } else if let Some(rust) = name_after(line, "fn ")
            && let Some(go) = pending_go.take()
        {
            names.insert(rust.to_string(), go);
        }
    }
    assert!(
        names.len() >= API_METHODS.len(),
        "found {} documented trait methods for {} API methods: has the trait's doc format changed?",
        names.len(),
        API_METHODS.len()
    );
    names
}

/// The Go names of the methods `MemoryBackend` implements.
fn implemented() -> BTreeSet<String> {
    let source = read("devhost/src/backend/memory/api.rs");
    let start = source
        .find("impl PluginApi for MemoryBackend")
        .expect("api.rs implements PluginApi for MemoryBackend");
    let go = go_names();
    source[start..]
        .lines()
        .filter_map(|line| name_after(line, "async fn "))
        .map(|rust| {
            go.get(rust)
                .unwrap_or_else(|| panic!("`{rust}` in api.rs is not a PluginApi method"))
                .clone()
        })
        .collect()
}

/// The Go API method names written in backticks in the doc's "Modelled methods" section.
fn documented() -> BTreeSet<String> {
    let doc = read(DOC);
    let start = doc
        .find(SECTION)
        .unwrap_or_else(|| panic!("{DOC} has no `{SECTION}` section"));
    let body = &doc[start + SECTION.len()..];
    let section = body.find("\n## ").map_or(body, |end| &body[..end]);
    let api: BTreeSet<&str> = API_METHODS.iter().copied().collect();
    section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|quoted| api.contains(quoted))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_doc_lists_exactly_the_modelled_methods() {
    let implemented = implemented();
    let documented = documented();
    let missing: Vec<&String> = implemented.difference(&documented).collect();
    let extra: Vec<&String> = documented.difference(&implemented).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{DOC} is out of date.\n  modelled but not listed: {missing:?}\n  listed but not modelled (they answer 501): {extra:?}"
    );
}

#[test]
fn the_doc_keeps_the_sections_other_work_fills() {
    let doc = read(DOC);
    for heading in ["## Routes", "## Recording and scripting any method"] {
        assert!(doc.contains(heading), "{DOC} lost its `{heading}` section");
    }
}
