//! Where Go source comes from: a directory laid out like `server/public`, or files in memory
//! (fixtures and tests).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Go module the API lives in.
pub const MODULE_PATH: &str = "github.com/mattermost/mattermost/server/public";

/// The packages the front-end reads, relative to the module root.
pub const PACKAGES: &[&str] = &["plugin", "model"];

/// One Go file: its path relative to the module root (`plugin/api.go`) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// The Go files of the packages the front-end reads, sorted by path.
#[derive(Debug, Clone, Default)]
pub struct SourceSet {
    pub files: Vec<SourceFile>,
}

#[derive(Debug)]
pub struct SourceError(pub String);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

impl SourceSet {
    /// Files from memory, e.g. `[("plugin/api.go", "package plugin …")]`.
    pub fn from_memory<P: Into<String>, T: Into<String>>(
        files: impl IntoIterator<Item = (P, T)>,
    ) -> Self {
        let mut files: Vec<SourceFile> = files
            .into_iter()
            .map(|(p, t)| SourceFile {
                path: p.into(),
                text: t.into(),
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        SourceSet { files }
    }

    /// Reads `plugin/*.go` and `model/*.go` (not `_test.go`) under a `server/public` directory.
    pub fn from_dir(root: &Path) -> Result<Self, SourceError> {
        let mut files = Vec::new();
        for package in PACKAGES {
            let dir = root.join(package);
            let entries = std::fs::read_dir(&dir).map_err(|e| {
                SourceError(format!(
                    "{}: cannot read package directory ({e}); expected a checkout of {MODULE_PATH}",
                    dir.display()
                ))
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| SourceError(format!("{}: {e}", dir.display())))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".go") || name.ends_with("_test.go") {
                    continue;
                }
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| SourceError(format!("{}: {e}", path.display())))?;
                files.push(SourceFile {
                    path: format!("{package}/{name}"),
                    text,
                });
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(SourceSet { files })
    }
}

/// A resolved input: the directory to read and how the spec should name it.
#[derive(Debug, Clone)]
pub struct ResolvedSource {
    pub dir: PathBuf,
    /// A module version (`v0.4.4`) or `local`.
    pub version: String,
}

/// Resolves `--mattermost <version|path>`: an existing directory is a local checkout of
/// `server/public`; anything else is a module version fetched with `go mod download`.
pub fn resolve(spec: &str) -> Result<ResolvedSource, SourceError> {
    let as_path = Path::new(spec);
    if as_path.is_dir() {
        return Ok(ResolvedSource {
            dir: as_path.to_path_buf(),
            version: "local".into(),
        });
    }
    if !spec.starts_with('v') {
        return Err(SourceError(format!(
            "--mattermost {spec}: neither a directory nor a module version like v0.4.4"
        )));
    }
    Ok(ResolvedSource {
        dir: download_module(spec)?,
        version: spec.to_string(),
    })
}

/// Runs `go mod download -json <module>@<version>` and returns the module's directory.
pub fn download_module(version: &str) -> Result<PathBuf, SourceError> {
    let target = format!("{MODULE_PATH}@{version}");
    // Run outside any module so a go.mod nearby cannot influence resolution.
    let output = Command::new("go")
        .args(["mod", "download", "-json", &target])
        .current_dir(std::env::temp_dir())
        .env("GOFLAGS", "-mod=mod")
        .output()
        .map_err(|e| {
            SourceError(format!(
                "cannot run `go mod download {target}`: {e} (is Go installed?)"
            ))
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: serde_json::Value = serde_json::from_str(&stdout).map_err(|_| {
        SourceError(format!(
            "`go mod download -json {target}` failed: {}{}",
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    })?;
    if let Some(err) = value.get("Error").and_then(|e| e.as_str()) {
        return Err(SourceError(format!("cannot download {target}: {err}")));
    }
    match value.get("Dir").and_then(|d| d.as_str()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Err(SourceError(format!(
            "`go mod download -json {target}` printed no Dir"
        ))),
    }
}
