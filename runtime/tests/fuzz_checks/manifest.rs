//! `Manifest::load` on arbitrary bytes and on edited valid manifests: it never panics, every
//! error starts with the manifest's path, and what it accepts obeys the server's rules.

use std::path::{Path, PathBuf};

use mattermost_plugin_runtime::manifest::{MAX_ID_LENGTH, MIN_ID_LENGTH, Manifest};
use serde_json::{Value, json};

use super::Bytes;

/// A plugin directory with an executable, a Python entry script and a symlink pointing out of
/// it, so edited manifests can name files that exist, escape, or are missing.
pub struct Sandbox {
    _root: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let root = tempfile::tempdir().expect("temporary directory");
        let dir = root.path().join("plugin");
        let outside = root.path().join("outside");
        for d in [dir.join("server"), outside.clone()] {
            std::fs::create_dir_all(d).expect("sandbox directories");
        }
        for f in [
            dir.join("server/plugin"),
            dir.join("plugin.py"),
            outside.join("x.sh"),
        ] {
            std::fs::write(f, "").expect("sandbox files");
        }
        std::os::unix::fs::symlink(outside.join("x.sh"), dir.join("escape"))
            .expect("sandbox symlink");
        std::os::unix::fs::symlink(&outside, dir.join("out")).expect("sandbox symlink");
        Sandbox { _root: root, dir }
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join("plugin.json")
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

/// Loads `bytes` as the sandbox's `plugin.json` and checks the outcome.
pub fn check_bytes(sandbox: &Sandbox, bytes: &[u8]) {
    let path = sandbox.manifest_path();
    std::fs::write(&path, bytes).expect("writing plugin.json");
    match Manifest::load(&sandbox.dir) {
        Err(e) => assert_names_path(&e.to_string(), &path),
        Ok(manifest) => check_accepted(sandbox, &manifest),
    }
}

fn assert_names_path(error: &str, path: &Path) {
    assert!(
        error.starts_with(&format!("{}: ", path.display())),
        "error does not start with the manifest path: {error}"
    );
}

/// What an accepted manifest must satisfy, stated without the loader's own helpers.
fn check_accepted(sandbox: &Sandbox, m: &Manifest) {
    let path = sandbox.manifest_path();
    let len = m.id.chars().count();
    assert!(
        (MIN_ID_LENGTH..=MAX_ID_LENGTH).contains(&len)
            && m.id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)),
        "accepted id {:?}",
        m.id
    );
    for (field, version) in [
        ("version", Some(m.version.as_str())),
        ("min_server_version", m.min_server_version.as_deref()),
    ] {
        let Some(v) = version.filter(|v| !v.is_empty()) else {
            continue;
        };
        let core = v.split(['-', '+']).next().unwrap_or_default();
        let numbers: Vec<&str> = core.split('.').collect();
        assert!(
            numbers.len() == 3
                && numbers.iter().all(|n| {
                    !n.is_empty()
                        && n.bytes().all(|b| b.is_ascii_digit())
                        && (n.len() == 1 || !n.starts_with('0'))
                }),
            "accepted {field} {v:?}"
        );
    }
    if let Some(server) = &m.server {
        let root = sandbox.dir.canonicalize().expect("sandbox directory");
        for exe in server
            .executables
            .values()
            .chain(server.executable.iter())
            .filter(|e| !e.is_empty())
        {
            assert!(!Path::new(exe).is_absolute(), "accepted executable {exe:?}");
            if let Ok(real) = sandbox.dir.join(exe).canonicalize() {
                assert!(
                    real.starts_with(&root),
                    "accepted executable {exe:?} → {real:?}"
                );
            }
        }
    }
    if let Err(e) = m.launch(&sandbox.dir) {
        assert_names_path(&e.to_string(), &path);
    }
    for server_version in ["11.11.0", "0.0.1", "v99", "junk"] {
        if let Err(e) = m.check_server_version(server_version) {
            assert_names_path(&e.to_string(), &path);
        }
    }
}

/// A manifest every rule accepts, in the sandbox.
pub fn valid() -> Value {
    json!({
        "id": "com.example.fuzz",
        "name": "Fuzz",
        "version": "1.2.3",
        "min_server_version": "9.0.0",
        "homepage_url": "https://example.com/",
        "server": {
            "executable": "server/plugin",
            "executables": {"linux-amd64": "server/plugin"},
        },
        "settings_schema": {
            "settings": [{"key": "K", "type": "text", "placeholder": "p"}],
            "sections": [{"key": "s", "settings": [{"key": "R", "type": "radio", "options": [{"display_name": "A", "value": "a"}]}]}],
        },
    })
}

/// Where edits land (dotted, numbers index arrays).
pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "version",
    "min_server_version",
    "homepage_url",
    "support_url",
    "release_notes_url",
    "server",
    "server.executable",
    "server.executables",
    "server.executables.linux-amd64",
    "server.executables.darwin-arm64",
    "server.runtime",
    "settings_schema",
    "settings_schema.settings",
    "settings_schema.settings.0",
    "settings_schema.settings.0.type",
    "settings_schema.settings.0.options",
    "settings_schema.settings.0.placeholder",
    "settings_schema.settings.0.regenerate_help_text",
    "settings_schema.sections.0.key",
    "settings_schema.sections.0.settings.0.options.0.value",
    "props",
];

/// Values worth trying anywhere.
pub fn interesting_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(""),
        json!(" "),
        json!("server/plugin"),
        json!("plugin.py"),
        json!("./server/../server/plugin"),
        json!("escape"),
        json!("out/x.sh"),
        json!("../outside/x.sh"),
        json!("..x"),
        json!("/bin/true"),
        json!("missing"),
        json!("python"),
        json!("native"),
        json!("1.2.3"),
        json!("v1.2.3"),
        json!("1.2"),
        json!("01.2.3"),
        json!("1.2.3-rc.1+b"),
        json!("99.0.0"),
        json!("ab"),
        json!("a b"),
        json!("A/B"),
        json!("Com.Example"),
        json!("x".repeat(MAX_ID_LENGTH + 1)),
        json!("http://"),
        json!("http://[::1"),
        json!("https://h:x/"),
        json!("bool"),
        json!("dropdown"),
        json!("generated"),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(true),
        json!([]),
        json!([null]),
        json!({}),
        json!({"settings": null}),
        json!([{"display_name": "", "value": ""}]),
    ]
}

/// One edit of a valid manifest.
#[derive(Debug, Clone)]
pub enum Edit {
    Set(usize, Value),
    SetText(usize, String),
    Remove(usize),
}

pub fn apply(mut manifest: Value, edits: &[Edit]) -> Value {
    for edit in edits {
        match edit {
            Edit::Set(field, value) => set(
                &mut manifest,
                FIELDS[field % FIELDS.len()],
                Some(value.clone()),
            ),
            Edit::SetText(field, text) => set(
                &mut manifest,
                FIELDS[field % FIELDS.len()],
                Some(Value::String(text.clone())),
            ),
            Edit::Remove(field) => set(&mut manifest, FIELDS[field % FIELDS.len()], None),
        }
    }
    manifest
}

/// Sets (or with `None` removes) a dotted path, creating objects on the way.
fn set(root: &mut Value, path: &str, value: Option<Value>) {
    let parts: Vec<&str> = path.split('.').collect();
    set_in(root, &parts, value);
}

fn set_in(node: &mut Value, parts: &[&str], value: Option<Value>) {
    let Some((part, rest)) = parts.split_first() else {
        return;
    };
    if let (Value::Array(items), Ok(index)) = (&mut *node, part.parse::<usize>()) {
        if index >= items.len() {
            if value.is_none() {
                return;
            }
            items.push(Value::Object(Default::default()));
        }
        let index = index.min(items.len() - 1);
        match (rest.is_empty(), value) {
            (true, Some(v)) => items[index] = v,
            (true, None) => {
                items.remove(index);
            }
            (false, value) => set_in(&mut items[index], rest, value),
        }
        return;
    }
    if !node.is_object() {
        if value.is_none() {
            return;
        }
        *node = Value::Object(Default::default());
    }
    let Value::Object(map) = node else {
        return;
    };
    match (rest.is_empty(), value) {
        (true, Some(v)) => {
            map.insert(part.to_string(), v);
        }
        (true, None) => {
            map.remove(*part);
        }
        (false, value) => {
            let child = map
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            set_in(child, rest, value);
        }
    }
}

/// Edits decoded from fuzzer bytes.
pub fn edits_from(b: &mut Bytes) -> Vec<Edit> {
    let values = interesting_values();
    let count = 1 + b.below(6);
    (0..count)
        .map(|_| {
            let field = b.byte() as usize;
            match b.below(3) {
                0 => Edit::Set(field, values[b.below(values.len())].clone()),
                1 => Edit::SetText(field, b.string(24)),
                _ => Edit::Remove(field),
            }
        })
        .collect()
}

/// The edited manifest's text, then a few raw byte edits (so near-valid JSON is covered too).
pub fn bytes_from(b: &mut Bytes) -> Vec<u8> {
    let mut text = apply(valid(), &edits_from(b)).to_string().into_bytes();
    for _ in 0..b.below(3) {
        if text.is_empty() {
            break;
        }
        let at = (b.byte() as usize * 7 + b.byte() as usize) % text.len();
        match b.below(3) {
            0 => {
                text.remove(at);
            }
            1 => text.insert(at, b.byte()),
            _ => text[at] = b.byte(),
        }
    }
    text
}
