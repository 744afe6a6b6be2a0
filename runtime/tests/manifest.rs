//! `plugin.json` validation: each rule the Mattermost server applies, with an accepted and a
//! refused example; executables that leave the plugin directory (`..`, absolute, symlinks);
//! `min_server_version` against the host's version; every error names the manifest file.

use std::path::Path;

use mattermost_plugin_runtime::manifest::{MAX_ID_LENGTH, Manifest, ManifestError};
use serde_json::{Value, json};

/// A plugin directory holding `manifest` as `plugin.json` and empty `files`.
fn plugin_dir(manifest: &Value, files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_dir(dir.path(), manifest, files);
    dir
}

fn write_dir(dir: &Path, manifest: &Value, files: &[&str]) {
    std::fs::write(dir.join("plugin.json"), manifest.to_string()).unwrap();
    for f in files {
        let p = dir.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }
}

/// A valid manifest with `patch` merged in (a `null` removes the key).
fn manifest_with(patch: Value) -> Value {
    let mut base = json!({
        "id": "com.example.valid",
        "name": "Valid",
        "version": "1.0.0",
        "server": {"executable": "server/plugin"},
    });
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn load(patch: Value) -> Result<Manifest, String> {
    let dir = plugin_dir(&manifest_with(patch), &["server/plugin"]);
    load_dir(dir.path())
}

/// Loads, and checks that an error names the manifest file.
fn load_dir(dir: &Path) -> Result<Manifest, String> {
    Manifest::load(dir).map_err(|e| {
        let text = e.to_string();
        let path = dir.join("plugin.json");
        assert!(
            text.starts_with(&format!("{}: ", path.display())),
            "error does not name {}: {text}",
            path.display()
        );
        text
    })
}

#[track_caller]
fn refused(patch: Value, expected: &[&str]) {
    let err = load(patch.clone()).expect_err(&format!("{patch} must be refused"));
    for e in expected {
        assert!(err.contains(e), "{patch}: `{e}` not in: {err}");
    }
}

#[test]
fn id_rules() {
    for ok in [
        "com.example.hello",
        "abc",
        "a-b_c.d",
        "UPPER.case",
        &"x".repeat(MAX_ID_LENGTH),
    ] {
        assert!(load(json!({ "id": ok })).is_ok(), "{ok:?}");
    }
    // The server lower-cases the id before using it.
    assert_eq!(
        load(json!({"id": "Com.Example"})).unwrap().id,
        "com.example"
    );
    refused(json!({"id": "com example"}), &[r#""com example""#, "' '"]);
    refused(json!({"id": "com/example"}), &[r#""com/example""#, "'/'"]);
    refused(json!({"id": "com.exämple"}), &["'ä'", "only ASCII letters"]);
    refused(
        json!({"id": "ab"}),
        &[r#""ab""#, "2 characters", "3 to 190"],
    );
    let long = "x".repeat(MAX_ID_LENGTH + 1);
    refused(json!({ "id": long }), &["191 characters", "3 to 190"]);
    refused(json!({"id": ""}), &["`id` is empty"]);
    refused(json!({"id": 3}), &["invalid plugin manifest"]);
    refused(json!({"id": null}), &["missing field `id`"]);
    // An explicit null reads as empty, as Go's decoder has it.
    let dir = plugin_dir(&json!({"id": null, "name": "n"}), &[]);
    assert!(load_dir(dir.path()).unwrap_err().contains("`id` is empty"));
}

#[test]
fn version_rules() {
    for ok in ["0.0.0", "1.2.3", "1.2.3-rc.1", "1.2.3+build.5"] {
        assert!(load(json!({ "version": ok })).is_ok(), "{ok}");
    }
    // Absent or empty is allowed, as on the server.
    assert!(load(json!({"version": null})).is_ok());
    assert!(load(json!({"version": ""})).is_ok());
    refused(
        json!({"version": "v1.2.3"}),
        &["`version` \"v1.2.3\"", "no leading `v`"],
    );
    refused(json!({"version": "1.2"}), &["`version` \"1.2\""]);
    refused(json!({"version": "01.2.3"}), &["leading zero"]);
    refused(json!({"version": 1}), &["invalid plugin manifest"]);
}

#[test]
fn min_server_version_rules() {
    for ok in ["9.0.0", "11.11.0-rc1", "5.6.0+x"] {
        assert!(load(json!({ "min_server_version": ok })).is_ok(), "{ok}");
    }
    refused(
        json!({"min_server_version": "9.0"}),
        &["`min_server_version` \"9.0\""],
    );
    refused(
        json!({"min_server_version": "v9.0.0"}),
        &["`min_server_version` \"v9.0.0\""],
    );
    refused(
        json!({"min_server_version": "latest"}),
        &["`min_server_version` \"latest\""],
    );
}

#[test]
fn url_rules() {
    for ok in [
        "https://example.com",
        "http://localhost:8065/x?y=1",
        "https://user@[::1]:443/",
    ] {
        assert!(load(json!({ "homepage_url": ok })).is_ok(), "{ok}");
    }
    refused(
        json!({"homepage_url": "example.com"}),
        &["`homepage_url` \"example.com\""],
    );
    refused(
        json!({"support_url": "ftp://example.com"}),
        &["`support_url`"],
    );
    refused(
        json!({"release_notes_url": "http://"}),
        &["`release_notes_url`"],
    );
    refused(json!({"homepage_url": "http://a b/"}), &["`homepage_url`"]);
    refused(
        json!({"homepage_url": "http://host:port/"}),
        &["`homepage_url`"],
    );
}

#[test]
fn settings_schema_rules() {
    let ok = json!({
        "header": "h",
        "settings": [
            {"key": "Greeting", "display_name": "Greeting", "type": "text", "placeholder": "Hi", "default": "Hello"},
            {"key": "Mode", "type": "dropdown", "options": [{"display_name": "A", "value": "a"}]},
            {"key": "Secret", "type": "generated", "regenerate_help_text": "again", "secret": true},
        ],
        "sections": [{"key": "more", "settings": [{"key": "On", "type": "bool"}]}],
    });
    assert!(load(json!({ "settings_schema": ok })).is_ok());
    assert!(load(json!({"settings_schema": null})).is_ok());
    let with = |setting: Value| json!({"settings_schema": {"settings": [setting]}});
    refused(
        with(json!({"key": "k", "type": "checkbox"})),
        &["settings[0].type", "\"checkbox\""],
    );
    refused(with(json!({"key": "k"})), &["settings[0].type"]);
    refused(
        with(json!({"key": "k", "type": "text", "options": []})),
        &["settings[0].options", "radio or dropdown"],
    );
    refused(
        with(json!({"key": "k", "type": "radio", "options": [{"display_name": "A"}]})),
        &["options[0]", "`value`"],
    );
    refused(
        with(json!({"key": "k", "type": "bool", "placeholder": "x"})),
        &["placeholder"],
    );
    refused(
        with(json!({"key": "k", "type": "text", "regenerate_help_text": "x"})),
        &["regenerate_help_text"],
    );
    refused(
        with(json!({"key": "k", "type": "bool", "secret": "yes"})),
        &["`settings_schema`"],
    );
    refused(
        json!({"settings_schema": {"sections": [{"settings": []}]}}),
        &["sections[0]` has no `key`"],
    );
    refused(json!({"settings_schema": 3}), &["`settings_schema`"]);
}

#[test]
fn executables_stay_inside_the_plugin_directory() {
    for ok in [
        "server/plugin",
        "./server/plugin",
        "server/../server/plugin",
    ] {
        let loaded = load(json!({"server": {"executable": ok}}));
        assert!(loaded.is_ok(), "{ok}: {loaded:?}");
    }
    refused(
        json!({"server": {"executable": "/bin/true"}}),
        &["`server.executable` \"/bin/true\"", "absolute"],
    );
    refused(
        json!({"server": {"executable": "../x.sh"}}),
        &[
            "`server.executable` \"../x.sh\"",
            "leaves the plugin directory",
        ],
    );
    refused(
        json!({"server": {"executable": "server/../../x.sh"}}),
        &["leaves the plugin directory"],
    );
    // The server's own test refuses any cleaned path starting with `..`.
    refused(
        json!({"server": {"executable": "..x.sh"}}),
        &["leaves the plugin directory"],
    );
    // Every platform's entry is checked, and named in the error.
    refused(
        json!({"server": {"executables": {"linux-amd64": "server/plugin", "darwin-arm64": "../x"}}}),
        &["`server.executables.darwin-arm64` \"../x\""],
    );
    refused(
        json!({"server": {"executables": {"linux-amd64": "/bin/true"}, "executable": "server/plugin"}}),
        &["`server.executables.linux-amd64`"],
    );
}

#[test]
fn symlinks_that_resolve_outside_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.sh"), "").unwrap();
    let dir = plugin_dir(
        &manifest_with(json!({"server": {"executable": "plugin.sh"}})),
        &[],
    );
    std::os::unix::fs::symlink(outside.path().join("x.sh"), dir.path().join("plugin.sh")).unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        err.contains("`server.executable` \"plugin.sh\" resolves to")
            && err.contains("outside the plugin directory"),
        "{err}"
    );

    // A symlinked directory on the way is followed too.
    let dir = plugin_dir(
        &manifest_with(json!({"server": {"executable": "bin/x.sh"}})),
        &[],
    );
    std::os::unix::fs::symlink(outside.path(), dir.path().join("bin")).unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(err.contains("outside the plugin directory"), "{err}");

    // A symlink that stays inside is fine.
    let dir = plugin_dir(
        &manifest_with(json!({"server": {"executable": "plugin"}})),
        &["server/real"],
    );
    std::os::unix::fs::symlink("server/real", dir.path().join("plugin")).unwrap();
    let manifest = load_dir(dir.path()).unwrap();
    assert!(manifest.launch(dir.path()).is_ok());
}

#[test]
fn launch_checks_the_executable_again() {
    // Swapped for a symlink pointing out after the manifest was read.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.sh"), "").unwrap();
    let dir = plugin_dir(
        &manifest_with(json!({"server": {"executable": "plugin.sh"}})),
        &[],
    );
    let manifest = load_dir(dir.path()).unwrap();
    std::os::unix::fs::symlink(outside.path().join("x.sh"), dir.path().join("plugin.sh")).unwrap();
    let err = manifest.launch(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("plugin.json: ") && err.contains("outside the plugin directory"),
        "{err}"
    );
}

#[test]
fn all_problems_are_listed_at_once() {
    let err = load(json!({"id": "a b", "version": "one", "server": {"executable": "/bin/true"}}))
        .unwrap_err();
    for part in [
        "\"a b\"",
        "`version` \"one\"",
        "`server.executable` \"/bin/true\"",
    ] {
        assert!(err.contains(part), "`{part}` not in: {err}");
    }
}

#[test]
fn check_server_version_both_ways() {
    let with_min = |min: Option<&str>| {
        let dir = plugin_dir(
            &manifest_with(json!({ "min_server_version": min })),
            &["server/plugin"],
        );
        (Manifest::load(dir.path()).unwrap(), dir)
    };
    let (m, _dir) = with_min(Some("9.0.0"));
    assert!(m.check_server_version("11.11.0").is_ok());
    assert!(m.check_server_version("9.0.0").is_ok());
    // The server's own version is read leniently.
    assert!(m.check_server_version("v9.1").is_ok());

    let (m, dir) = with_min(Some("12.0.0"));
    let err = m.check_server_version("11.11.0").unwrap_err();
    assert!(matches!(err, ManifestError::Invalid { .. }));
    let err = err.to_string();
    assert!(
        err.contains("12.0.0")
            && err.contains("11.11.0")
            && err.contains("com.example.valid")
            && err.starts_with(&dir.path().join("plugin.json").display().to_string()),
        "{err}"
    );
    // A pre-release is older than its release.
    let (m, _dir) = with_min(Some("11.11.0"));
    assert!(m.check_server_version("11.11.0-rc1").is_err());
    assert!(m.check_server_version("not a version").is_err());

    let (m, _dir) = with_min(None);
    assert!(m.check_server_version("1.0.0").is_ok());
}

#[test]
fn unreadable_and_malformed_files_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(err.contains("cannot read plugin manifest"), "{err}");
    std::fs::write(dir.path().join("plugin.json"), b"{\"id\": \"\xff\"}").unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(err.contains("invalid plugin manifest"), "{err}");
}

#[test]
fn the_example_plugins_pass() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("plugin.json").is_file() {
            Manifest::load(&dir).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert!(seen >= 2, "examples found: {seen}");
}
