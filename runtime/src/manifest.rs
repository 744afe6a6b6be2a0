//! `plugin.json`: Mattermost's plugin manifest, plus our `server.runtime` extension, and how to
//! launch the plugin it describes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The fields of Mattermost's manifest the host uses. Unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub min_server_version: Option<String>,
    #[serde(default)]
    pub server: Option<ServerSection>,
    #[serde(default)]
    pub settings_schema: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSection {
    /// One executable for every platform (or, with `runtime: "python"`, the entry script).
    #[serde(default)]
    pub executable: Option<String>,
    /// Per-platform executables, keyed `linux-amd64`, `darwin-arm64`, …
    #[serde(default)]
    pub executables: BTreeMap<String, String>,
    /// Our extension: `"python"` runs `executable` with a Python interpreter.
    #[serde(default)]
    pub runtime: Option<String>,
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
    /// Reads `<dir>/plugin.json`.
    pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join("plugin.json");
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|source| ManifestError::Parse {
                path: path.clone(),
                source,
            })?;
        if manifest.id.trim().is_empty() {
            return Err(ManifestError::Invalid {
                path,
                message: "`id` is empty".into(),
            });
        }
        Ok(manifest)
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
        let executable = server
            .executables
            .get(&platform)
            .or(server.executable.as_ref())
            .ok_or_else(|| {
                invalid(format!(
                    "`server` names no executable (nor one for {platform})"
                ))
            })?;
        let target = dir.join(executable);
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
