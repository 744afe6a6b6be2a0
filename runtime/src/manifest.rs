//! `plugin.json`: Mattermost's plugin manifest, plus our `server.runtime` extension, and how to
//! launch the plugin it describes.

mod semver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

/// The shortest plugin id the server accepts.
pub const MIN_ID_LENGTH: usize = 3;
/// The longest plugin id the server accepts (the id becomes part of file paths and URLs).
pub const MAX_ID_LENGTH: usize = 190;

/// The fields of Mattermost's manifest the host uses. Unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Lower-cased on load, as the server does.
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    #[serde(default)]
    pub min_server_version: Option<String>,
    #[serde(default)]
    pub homepage_url: Option<String>,
    #[serde(default)]
    pub support_url: Option<String>,
    #[serde(default)]
    pub release_notes_url: Option<String>,
    #[serde(default)]
    pub server: Option<ServerSection>,
    #[serde(default)]
    pub settings_schema: Option<serde_json::Value>,
    /// The `plugin.json` this was read from, for error messages.
    #[serde(skip)]
    path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSection {
    /// One executable for every platform (or, with `runtime: "python"`, the entry script).
    #[serde(default)]
    pub executable: Option<String>,
    /// Per-platform executables, keyed `linux-amd64`, `darwin-arm64`, …
    #[serde(default, deserialize_with = "null_as_default")]
    pub executables: BTreeMap<String, String>,
    /// Our extension: `"python"` runs `executable` with a Python interpreter.
    #[serde(default)]
    pub runtime: Option<String>,
}

/// Go's decoder leaves a field at its zero value for `null`; do the same.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read plugin manifest: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid plugin manifest: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// How to start a plugin's server part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
}

impl Manifest {
    /// Reads `<dir>/plugin.json` and refuses what a Mattermost server would refuse: an invalid id,
    /// a version or `min_server_version` that is not strict semver, a malformed URL or settings
    /// schema, and a server executable outside the plugin directory.
    pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join("plugin.json");
        let bytes = std::fs::read(&path).map_err(|source| ManifestError::Read {
            path: path.clone(),
            source,
        })?;
        let mut manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|source| ManifestError::Parse {
                path: path.clone(),
                source,
            })?;
        // The server lower-cases ids when it reads a manifest; routes and KV keys use that form.
        manifest.id = manifest.id.to_lowercase();
        manifest.path = path;
        manifest.validate(dir)?;
        Ok(manifest)
    }

    /// The `plugin.json` this manifest was read from.
    pub fn path(&self) -> &Path {
        if self.path.as_os_str().is_empty() {
            Path::new("plugin.json")
        } else {
            &self.path
        }
    }

    fn invalid(&self, message: String) -> ManifestError {
        ManifestError::Invalid {
            path: self.path().to_path_buf(),
            message,
        }
    }

    /// Every rule at once, so one run lists all the problems.
    fn validate(&self, dir: &Path) -> Result<(), ManifestError> {
        let mut problems = Vec::new();
        if let Err(problem) = check_id(&self.id) {
            problems.push(problem);
        }
        if self.name.trim().is_empty() {
            // The server refuses this at install time, but the host's own fixtures and quick
            // start omit it, so it is only a warning here.
            tracing::warn!(
                manifest = %self.path().display(),
                "plugin manifest has no `name`; a Mattermost server refuses to install it"
            );
        }
        for (field, value) in [
            ("homepage_url", &self.homepage_url),
            ("support_url", &self.support_url),
            ("release_notes_url", &self.release_notes_url),
        ] {
            if let Some(url) = value.as_deref().filter(|u| !u.is_empty())
                && !is_http_url(url)
            {
                problems.push(format!("`{field}` {url:?} is not an http(s) URL"));
            }
        }
        if !self.version.is_empty()
            && let Err(why) = semver::parse_strict(&self.version)
        {
            problems.push(not_semver("version", &self.version, &why));
        }
        if let Some(min) = self.min_server_version.as_deref().filter(|v| !v.is_empty())
            && let Err(why) = semver::parse_strict(min)
        {
            problems.push(not_semver("min_server_version", min, &why));
        }
        if let Some(schema) = &self.settings_schema {
            check_settings_schema(schema, &mut problems);
        }
        if let Some(server) = &self.server {
            let named = server
                .executables
                .iter()
                .map(|(platform, exe)| (format!("server.executables.{platform}"), exe))
                .chain(
                    server
                        .executable
                        .iter()
                        .map(|exe| ("server.executable".to_string(), exe)),
                );
            for (field, exe) in named {
                // An empty entry means "not given": the server falls back to `executable`.
                if !exe.is_empty()
                    && let Err(problem) = contained(dir, &field, exe)
                {
                    problems.push(problem);
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(self.invalid(problems.join("; ")))
        }
    }

    /// Refuses to run on a server older than `min_server_version`, as the server does on
    /// activation. `server_version` is the version the host reports (`GetServerVersion`).
    pub fn check_server_version(&self, server_version: &str) -> Result<(), ManifestError> {
        let Some(min) = self.min_server_version.as_deref().filter(|v| !v.is_empty()) else {
            return Ok(());
        };
        let required = semver::parse_strict(min)
            .map_err(|why| self.invalid(not_semver("min_server_version", min, &why)))?;
        let running = semver::parse_lenient(server_version).map_err(|why| {
            self.invalid(format!(
                "server version {server_version:?} is not a version: {why}"
            ))
        })?;
        if running < required {
            return Err(self.invalid(format!(
                "plugin {} needs Mattermost {min} or later (`min_server_version`), but this server is {server_version}",
                self.id
            )));
        }
        Ok(())
    }

    /// The command that starts the plugin in `dir`: a native executable, or for
    /// `server.runtime: "python"` the entry script under the plugin's interpreter.
    pub fn launch(&self, dir: &Path) -> Result<Launch, ManifestError> {
        let path = dir.join("plugin.json");
        let invalid = |message: String| ManifestError::Invalid {
            path: path.clone(),
            message,
        };
        let server = self
            .server
            .as_ref()
            .ok_or_else(|| invalid("no `server` section: this plugin has no server part".into()))?;
        let platform = platform_key();
        // The server's choice: this platform's entry, else `executable`; empty means absent.
        let (field, executable) = match server.executables.get(&platform) {
            Some(exe) if !exe.is_empty() => (format!("server.executables.{platform}"), exe),
            _ => match server.executable.as_ref().filter(|e| !e.is_empty()) {
                Some(exe) => ("server.executable".to_string(), exe),
                None => {
                    return Err(invalid(format!(
                        "`server` names no executable (nor one for {platform})"
                    )));
                }
            },
        };
        // Checked again here: the directory may have changed since `load`.
        let target = contained(dir, &field, executable).map_err(&invalid)?;
        if !target.is_file() {
            return Err(invalid(format!(
                "server executable {} does not exist",
                target.display()
            )));
        }
        match server.runtime.as_deref() {
            None | Some("native") => Ok(Launch {
                program: target,
                args: Vec::new(),
                cwd: dir.to_path_buf(),
            }),
            Some("python") => {
                let python = find_python(dir).ok_or_else(|| {
                    invalid(format!(
                        "`server.runtime` is \"python\" but no interpreter was found: looked for {}/venv/bin/python, {}/.venv/bin/python and python3 on PATH",
                        dir.display(),
                        dir.display()
                    ))
                })?;
                // -u: unbuffered, so log lines reach the host as they are written.
                Ok(Launch {
                    program: python,
                    args: vec!["-u".into(), target.to_string_lossy().into_owned()],
                    cwd: dir.to_path_buf(),
                })
            }
            Some(other) => Err(invalid(format!(
                "unknown `server.runtime` \"{other}\" (expected \"python\")"
            ))),
        }
    }
}

fn not_semver(field: &str, value: &str, why: &str) -> String {
    format!(
        "`{field}` {value:?} is not a semantic version (MAJOR.MINOR.PATCH, no leading `v`): {why}"
    )
}

/// The server's id rule: 3 to 190 characters from `a-z A-Z 0-9 - _ .` (the id is used in paths).
fn check_id(id: &str) -> Result<(), String> {
    if id.trim().is_empty() {
        return Err("`id` is empty".into());
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "plugin id {id:?} contains {bad:?}: only ASCII letters, digits, '-', '_' and '.' are allowed"
        ));
    }
    let len = id.chars().count();
    if !(MIN_ID_LENGTH..=MAX_ID_LENGTH).contains(&len) {
        return Err(format!(
            "plugin id {id:?} is {len} characters long: it must be {MIN_ID_LENGTH} to {MAX_ID_LENGTH}"
        ));
    }
    Ok(())
}

/// Where the executable `value` (from manifest field `field`) lives, refusing any path that
/// leaves `dir`: absolute paths, `..` escapes, and symlinks resolving outside.
fn contained(dir: &Path, field: &str, value: &str) -> Result<PathBuf, String> {
    if Path::new(value).is_absolute() {
        return Err(format!(
            "`{field}` {value:?} is an absolute path: it must be relative to the plugin directory"
        ));
    }
    if cleaned_starts_with_dotdot(value) {
        return Err(format!("`{field}` {value:?} leaves the plugin directory"));
    }
    let target = dir.join(value);
    // A missing file cannot escape; `launch` reports it as missing.
    if let Ok(real) = target.canonicalize() {
        let root = dir
            .canonicalize()
            .map_err(|e| format!("plugin directory {}: {e}", dir.display()))?;
        if !real.starts_with(&root) {
            return Err(format!(
                "`{field}` {value:?} resolves to {}, outside the plugin directory {}",
                real.display(),
                root.display()
            ));
        }
    }
    Ok(target)
}

/// The server's lexical test: clean the path as Go's `filepath.Clean` would and refuse it when
/// the result starts with `..` (which also refuses a first component such as `..x`).
fn cleaned_starts_with_dotdot(value: &str) -> bool {
    let mut kept: Vec<&str> = Vec::new();
    for part in value.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if kept.pop().is_none() {
                    return true;
                }
            }
            other => kept.push(other),
        }
    }
    kept.first().is_some_and(|first| first.starts_with(".."))
}

/// What the server accepts as a manifest URL: `http://` or `https://` and a request URI Go's
/// parser takes with a non-empty authority.
fn is_http_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    if url.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() {
        return false;
    }
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (user, host),
        None => ("", authority),
    };
    let userinfo_ok = userinfo
        .bytes()
        .all(|b| b >= 0x80 || b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b));
    let host_char =
        |b: u8| b >= 0x80 || b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]<>\"%".contains(&b);
    let port_ok = |port: &str| port.bytes().all(|b| b.is_ascii_digit());
    let host_ok = if let Some(bracketed) = host_port.strip_prefix('[') {
        // An IPv6 literal: `[addr]` then an optional `:port`.
        match bracketed.split_once(']') {
            Some((_, "")) => true,
            Some((_, tail)) => tail.strip_prefix(':').is_some_and(port_ok),
            None => false,
        }
    } else {
        let port = host_port.rsplit_once(':').map_or("", |(_, p)| p);
        host_port.bytes().all(host_char) && port_ok(port)
    };
    userinfo_ok && host_ok
}

/// The settings schema's shape and the server's rules for it. Fields are typed as the server's
/// decoder types them, so a wrong JSON type is refused as it would be there; some are declared
/// only for that and never read.
#[derive(Deserialize)]
#[allow(dead_code)]
struct SchemaShape {
    #[serde(default)]
    header: Option<String>,
    #[serde(default)]
    footer: Option<String>,
    #[serde(default)]
    settings: Option<Vec<Option<SettingShape>>>,
    #[serde(default)]
    sections: Option<Vec<Option<SectionShape>>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct SectionShape {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    subtitle: Option<String>,
    #[serde(default)]
    settings: Option<Vec<Option<SettingShape>>>,
    #[serde(default)]
    header: Option<String>,
    #[serde(default)]
    footer: Option<String>,
    #[serde(default)]
    custom: Option<bool>,
    #[serde(default)]
    fallback: Option<bool>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct SettingShape {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    help_text: Option<String>,
    #[serde(default)]
    regenerate_help_text: Option<String>,
    #[serde(default)]
    placeholder: Option<String>,
    #[serde(default)]
    options: Option<Vec<Option<OptionShape>>>,
    #[serde(default)]
    hosting: Option<String>,
    #[serde(default)]
    secret: Option<bool>,
}

#[derive(Deserialize)]
struct OptionShape {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

const SETTING_TYPES: &[&str] = &[
    "bool",
    "dropdown",
    "generated",
    "radio",
    "text",
    "number",
    "longtext",
    "username",
    "custom",
];
/// Setting types that may show a placeholder.
const PLACEHOLDER_TYPES: &[&str] = &[
    "generated",
    "text",
    "longtext",
    "number",
    "username",
    "custom",
];

fn check_settings_schema(schema: &serde_json::Value, problems: &mut Vec<String>) {
    let shape: SchemaShape = match SchemaShape::deserialize(schema) {
        Ok(shape) => shape,
        Err(e) => {
            problems.push(format!("`settings_schema`: {e}"));
            return;
        }
    };
    let check_settings =
        |at: &str, settings: &[Option<SettingShape>], problems: &mut Vec<String>| {
            for (i, setting) in settings.iter().enumerate() {
                let at = format!("{at}.settings[{i}]");
                match setting {
                    Some(setting) => check_setting(&at, setting, problems),
                    None => problems.push(format!("`{at}` is null")),
                }
            }
        };
    check_settings(
        "settings_schema",
        shape.settings.as_deref().unwrap_or_default(),
        problems,
    );
    for (i, section) in shape.sections.iter().flatten().enumerate() {
        let at = format!("settings_schema.sections[{i}]");
        let Some(section) = section else {
            problems.push(format!("`{at}` is null"));
            continue;
        };
        if section.key.as_deref().unwrap_or_default().is_empty() {
            problems.push(format!("`{at}` has no `key`"));
        }
        check_settings(
            &at,
            section.settings.as_deref().unwrap_or_default(),
            problems,
        );
    }
}

fn check_setting(at: &str, setting: &SettingShape, problems: &mut Vec<String>) {
    let kind = setting.kind.as_deref().unwrap_or_default();
    if !SETTING_TYPES.contains(&kind) {
        problems.push(format!(
            "`{at}.type` {kind:?} is not one of {}",
            SETTING_TYPES.join(", ")
        ));
        return;
    }
    if !setting
        .regenerate_help_text
        .as_deref()
        .unwrap_or_default()
        .is_empty()
        && kind != "generated"
    {
        problems.push(format!(
            "`{at}.regenerate_help_text` is only for settings of type \"generated\", not {kind:?}"
        ));
    }
    if !setting
        .placeholder
        .as_deref()
        .unwrap_or_default()
        .is_empty()
        && !PLACEHOLDER_TYPES.contains(&kind)
    {
        problems.push(format!(
            "`{at}.placeholder` is only for settings of type {}, not {kind:?}",
            PLACEHOLDER_TYPES.join(", ")
        ));
    }
    if let Some(options) = &setting.options {
        // Even an empty list counts as given, as on the server.
        if kind != "radio" && kind != "dropdown" {
            problems.push(format!(
                "`{at}.options` is only for settings of type radio or dropdown, not {kind:?}"
            ));
        }
        for (i, option) in options.iter().enumerate() {
            let filled = option.as_ref().is_some_and(|o| {
                !o.display_name.as_deref().unwrap_or_default().is_empty()
                    && !o.value.as_deref().unwrap_or_default().is_empty()
            });
            if !filled {
                problems.push(format!(
                    "`{at}.options[{i}]` needs a non-empty `display_name` and `value`"
                ));
            }
        }
    }
}

/// Mattermost's platform key for this machine.
fn platform_key() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}-{arch}")
}

/// The plugin's own virtualenv first (`venv/`, `.venv/`), then `python3` on PATH.
pub fn find_python(dir: &Path) -> Option<PathBuf> {
    for venv in ["venv", ".venv"] {
        let candidate = dir.join(venv).join("bin").join("python");
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|p| p.join("python3"))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin_dir(manifest: &str, files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plugin.json"), manifest).unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        dir
    }

    #[test]
    fn native_executable() {
        let dir = plugin_dir(
            r#"{"id":"com.x","server":{"executable":"server/plugin"}}"#,
            &["server/plugin"],
        );
        let m = Manifest::load(dir.path()).unwrap();
        let l = m.launch(dir.path()).unwrap();
        assert_eq!(l.program, dir.path().join("server/plugin"));
        assert!(l.args.is_empty());
    }

    #[test]
    fn python_prefers_the_plugin_venv() {
        let dir = plugin_dir(
            r#"{"id":"com.x","server":{"executable":"plugin.py","runtime":"python"}}"#,
            &["plugin.py", ".venv/bin/python"],
        );
        let l = Manifest::load(dir.path())
            .unwrap()
            .launch(dir.path())
            .unwrap();
        assert_eq!(l.program, dir.path().join(".venv/bin/python"));
        assert_eq!(
            l.args,
            [
                "-u".to_string(),
                dir.path().join("plugin.py").to_string_lossy().into_owned()
            ]
        );
    }

    #[test]
    fn lexical_escapes() {
        for escapes in [
            "..",
            "../x",
            "a/../../x",
            "./../x",
            "..x",
            "a/../..x",
            "a/b/../../../x",
        ] {
            assert!(cleaned_starts_with_dotdot(escapes), "{escapes}");
        }
        for inside in [
            "x",
            "./x",
            "a/../x",
            "a/b/../../x",
            "a/..x",
            "x/..",
            ".x",
            "a//b",
        ] {
            assert!(!cleaned_starts_with_dotdot(inside), "{inside}");
        }
    }

    #[test]
    fn clear_errors() {
        let dir = plugin_dir(
            r#"{"id":"com.x","server":{"executable":"missing.py","runtime":"python"}}"#,
            &[],
        );
        let err = Manifest::load(dir.path())
            .unwrap()
            .launch(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing.py") && err.contains("does not exist"),
            "{err}"
        );
        let dir = plugin_dir(
            r#"{"id":"com.x","server":{"executable":"p","runtime":"ruby"}}"#,
            &["p"],
        );
        let err = Manifest::load(dir.path())
            .unwrap()
            .launch(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown `server.runtime` \"ruby\""), "{err}");
        let dir = plugin_dir(r#"{"id":""}"#, &[]);
        assert!(
            Manifest::load(dir.path())
                .unwrap_err()
                .to_string()
                .contains("`id` is empty")
        );
        let dir = plugin_dir(r#"{"id": 3}"#, &[]);
        assert!(
            Manifest::load(dir.path())
                .unwrap_err()
                .to_string()
                .contains("invalid plugin manifest")
        );
    }
}
