//! Where the plugin is and what to run: a stock server starts the shim with no arguments and in
//! its own working directory, so the bundle is found from the shim's own path.
//!
//! The bundle's `plugin.json` names the shim for the server and the Python entry for the shim:
//!
//! ```json
//! {"id": "com.example.hello", "version": "0.1.0",
//!  "server": {"executables": {"linux-amd64": "server/dist/mm-python-shim"},
//!             "runtime": "python", "executable": "plugin.py"}}
//! ```
//!
//! The server runs its platform's entry in `executables` (the shim); `runtime` is ignored by
//! the server, and the shim runs `executable` with the bundle's interpreter (`venv/`, `.venv/`,
//! else `python3` on PATH) exactly as the dev host would.

use std::path::{Path, PathBuf};

use mattermost_plugin_runtime::manifest::{Launch, Manifest};

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("no plugin.json in {0} or any directory above it")]
    NotFound(PathBuf),
    #[error("finding the shim's own path: {0}")]
    CurrentExe(std::io::Error),
    #[error(transparent)]
    Manifest(#[from] mattermost_plugin_runtime::manifest::ManifestError),
    #[error(
        "{0}: the shim runs Python plugins: `server.runtime` must be \"python\" and `server.executable` the entry script"
    )]
    NotPython(PathBuf),
}

/// The nearest directory at or above `start` holding a `plugin.json`.
pub fn find_bundle(start: &Path) -> Result<PathBuf, BundleError> {
    start
        .ancestors()
        .find(|dir| dir.join("plugin.json").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| BundleError::NotFound(start.to_path_buf()))
}

/// The bundle of the running executable (its path with symlinks resolved).
pub fn own_bundle() -> Result<PathBuf, BundleError> {
    let exe = std::env::current_exe().map_err(BundleError::CurrentExe)?;
    let exe = exe.canonicalize().unwrap_or(exe);
    find_bundle(exe.parent().unwrap_or(&exe))
}

/// The manifest of the bundle in `dir` and the command that starts its Python part.
pub fn python_launch(dir: &Path) -> Result<(Manifest, Launch), BundleError> {
    let manifest = Manifest::load(dir)?;
    let server = manifest.server.as_ref();
    if server.and_then(|s| s.runtime.as_deref()) != Some("python")
        || server.and_then(|s| s.executable.as_deref()).is_none()
    {
        return Err(BundleError::NotPython(manifest.path().to_path_buf()));
    }
    // `executables` are the server's (the shim); the entry is `executable`.
    let mut python = manifest.clone();
    if let Some(server) = python.server.as_mut() {
        server.executables.clear();
    }
    let launch = python.launch(dir)?;
    Ok((manifest, launch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_from_a_nested_executable_and_the_python_entry() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("plugin.json"),
            r#"{"id": "com.example.shim", "version": "0.1.0",
                "server": {"executables": {"linux-amd64": "server/dist/shim", "darwin-arm64": "server/dist/shim"},
                           "runtime": "python", "executable": "plugin.py"}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(root.join("server/dist")).unwrap();
        std::fs::write(root.join("server/dist/shim"), "").unwrap();
        std::fs::write(root.join("plugin.py"), "").unwrap();
        assert_eq!(find_bundle(&root.join("server/dist")).unwrap(), root);
        let (manifest, launch) = python_launch(root).unwrap();
        assert_eq!(manifest.id, "com.example.shim");
        assert_eq!(
            launch.args.last().unwrap(),
            &root.join("plugin.py").to_string_lossy()
        );
        assert_eq!(launch.cwd, root);
    }

    #[test]
    fn a_native_bundle_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plugin.json"),
            r#"{"id": "com.example.native", "version": "0.1.0", "server": {"executable": "p"}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("p"), "").unwrap();
        let err = python_launch(dir.path()).unwrap_err().to_string();
        assert!(err.contains("server.runtime"), "{err}");
    }
}
