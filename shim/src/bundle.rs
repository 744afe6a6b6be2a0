//! Where the plugin is and what to run: a stock server starts the shim with no arguments and in
//! its own working directory, so the bundle is found from the shim's own path.
//!
//! The bundle's `plugin.json` names the shim for the server and the Python entry for the shim:
//!
//! ```json
//! {"id": "com.example.hello", "version": "0.1.0",
//!  "server": {"executables": {"linux-amd64": "server/dist/mm-python-shim-linux-amd64"},
//!             "runtime": "python", "executable": "plugin.py"}}
//! ```
//!
//! The server runs its platform's entry in `executables` (the shim); `runtime` is ignored by
//! the server, and the shim runs `executable` with the plugin's interpreter
//! ([`python_interpreter`]):
//!
//! * a bundle made by `cargo xtask bundle` carries its Python packages as wheels in
//!   `wheels/`. On first start the shim creates a virtualenv from them **without network**
//!   (`pip install --no-index --find-links wheels`) with a Python ≥ 3.10 found on the host
//!   ([`find_base_python`]), and reuses it while the wheels stay the same. The virtualenv is
//!   `<bundle>/.venv` when the bundle directory is writable (a server unpacks uploaded plugins
//!   into a directory it owns), else `mm-python-shim/<plugin id>-<version>` under the data
//!   directory (`$XDG_DATA_HOME`, else `~/.local/share`);
//! * a bundle without `wheels/` (a development layout) runs its own `venv/` or `.venv/`, else
//!   that Python as it is.
//!
//! A bundle made by `cargo xtask bundle` also records the plugin's hooks ([`HOOKS_RECORD`],
//! what the plugin's `Implemented` answers, found by running its entry script at build time),
//! so the shim can answer the server at once and start Python only in `OnActivate`, once the
//! plugin's settings are readable: [`INTERPRETER_SETTING`] there names the host's Python
//! ([`PythonChoice`]).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mattermost_plugin_runtime::manifest::Manifest;

/// Names the interpreter the shim builds the plugin's virtualenv with: a path, or a command
/// looked up on `PATH`. When unset, `python3`, then `python3.14` … `python3.10` on `PATH`.
pub const PYTHON_ENV: &str = "MM_PYTHON_SHIM_PYTHON";
/// The oldest Python the SDK runs on.
pub const MIN_PYTHON: (u32, u32) = (3, 10);
/// The bundle's directory of wheels (made by `cargo xtask bundle`).
pub const WHEELS_DIR: &str = "wheels";
/// The plugin's own requirements, installed from the wheels too when present.
pub const REQUIREMENTS: &str = "requirements.txt";
/// What the shim installs from the wheels besides the plugin's requirements: the SDK and the
/// generated API package (their dependencies come along).
pub const PACKAGES: &[&str] = &["mattermost-plugin", "mattermost-plugin-api"];
/// The plugin's hooks recorded at build time, `{"hooks": ["OnActivate", …]}` (Go names).
pub const HOOKS_RECORD: &str = "server/python-plugin.json";
/// The plugin setting (added by `cargo xtask bundle`) naming the Python to build the
/// virtualenv with: a path or a command on `PATH`; empty for [`find_base_python`]'s search.
pub const INTERPRETER_SETTING: &str = "PythonInterpreter";
/// Written into the virtualenv once it is complete: what it was built from.
const STAMP: &str = ".mm-python-shim-wheels";
/// The names tried on `PATH`, in order, when [`PYTHON_ENV`] is unset.
const PYTHON_NAMES: &[&str] = &[
    "python3",
    "python3.14",
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
];

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
    #[error(
        "no Python >= 3.10 to run the plugin: {0}. Install Python 3.10 or newer on the server host (Debian/Ubuntu: apt-get install python3) or set {PYTHON_ENV} in the server's environment to its path"
    )]
    NoPython(String),
    #[error(
        "no Python >= 3.10 to run the plugin: {0}. Install Python 3.10 or newer on the server host (Debian/Ubuntu: apt-get install python3), or name one in the plugin's {INTERPRETER_SETTING} setting (or {PYTHON_ENV} in the server's environment)"
    )]
    NoPythonSettable(String),
    #[error(
        "the plugin's {INTERPRETER_SETTING} setting names {value:?}, which {why}: name a Python 3.10 or newer on the server host (a path, or a command on the server's PATH), or leave the setting empty to use the python3 on PATH"
    )]
    BadSetting { value: String, why: String },
    #[error("{path}: {why}")]
    Record { path: PathBuf, why: String },
    #[error("setting up the plugin's Python environment in {dir}: {why}")]
    Venv { dir: PathBuf, why: String },
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

/// The manifest of the bundle in `dir` and its Python entry script, checked as the server
/// checks an executable (inside the bundle, an existing file).
pub fn python_entry(dir: &Path) -> Result<(Manifest, PathBuf), BundleError> {
    let manifest = Manifest::load(dir)?;
    let server = manifest.server.as_ref();
    if server.and_then(|s| s.runtime.as_deref()) != Some("python")
        || server.and_then(|s| s.executable.as_deref()).is_none()
    {
        return Err(BundleError::NotPython(manifest.path().to_path_buf()));
    }
    // `executables` are the server's (the shim); the entry is `executable`, resolved as a
    // native one would be only to check its path.
    let mut entry = manifest.clone();
    if let Some(server) = entry.server.as_mut() {
        server.executables.clear();
        server.runtime = None;
    }
    let launch = entry.launch(dir)?;
    Ok((manifest, launch.program))
}

/// The hooks recorded in the bundle at build time ([`HOOKS_RECORD`]); `None` without a record.
pub fn recorded_hooks(dir: &Path) -> Result<Option<Vec<String>>, BundleError> {
    let path = dir.join(HOOKS_RECORD);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(BundleError::Record {
                path,
                why: e.to_string(),
            });
        }
    };
    let fail = |why: String| BundleError::Record {
        path: path.clone(),
        why,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))?;
    value
        .get("hooks")
        .and_then(|h| h.as_array())
        .and_then(|h| h.iter().map(|n| n.as_str().map(str::to_owned)).collect())
        .map(Some)
        .ok_or_else(|| fail("no `hooks` list of names".into()))
}

/// The [`INTERPRETER_SETTING`] in the plugin's configuration as `LoadPluginConfiguration`
/// returns it (a JSON object); its key matched in any case, since the server's configuration
/// store may have lower-cased it. Empty when absent or null.
pub fn interpreter_setting(config: &[u8]) -> Result<String, String> {
    if config.iter().all(u8::is_ascii_whitespace) {
        return Ok(String::new());
    }
    let value: serde_json::Value = serde_json::from_slice(config)
        .map_err(|e| format!("the plugin's configuration is not JSON: {e}"))?;
    let Some(settings) = value.as_object() else {
        // `null`: nothing configured yet.
        return Ok(String::new());
    };
    match settings
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(INTERPRETER_SETTING))
        .map(|(_, v)| v)
    {
        None | Some(serde_json::Value::Null) => Ok(String::new()),
        Some(serde_json::Value::String(s)) => Ok(s.trim().to_owned()),
        Some(other) => Err(format!(
            "the plugin's {INTERPRETER_SETTING} setting is {other}, not text"
        )),
    }
}

/// Where the base interpreter comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PythonChoice {
    /// The plugin's [`INTERPRETER_SETTING`]: `None` when the bundle offers no such setting (a
    /// bundle without a hooks record), else its value (empty: search as without it).
    pub setting: Option<String>,
}

impl PythonChoice {
    /// The base interpreter this choice names or finds, with its version.
    pub fn base_python(&self) -> Result<(PathBuf, (u32, u32)), BundleError> {
        match self.setting.as_deref() {
            None => find_base_python(),
            Some("") => find_base_python().map_err(|e| match e {
                BundleError::NoPython(why) => BundleError::NoPythonSettable(why),
                other => other,
            }),
            Some(named) => named_python(OsStr::new(named)).map_err(|why| BundleError::BadSetting {
                value: named.to_owned(),
                why,
            }),
        }
    }
}

/// The interpreter that runs the bundle's entry (see the module docs). Creating the
/// virtualenv blocks while pip runs: seconds, on first start only.
pub fn python_interpreter(
    dir: &Path,
    manifest: &Manifest,
    choice: &PythonChoice,
) -> Result<PathBuf, BundleError> {
    let wheels = dir.join(WHEELS_DIR);
    if !wheels.is_dir() {
        for venv in ["venv", ".venv"] {
            let python = dir.join(venv).join("bin").join("python");
            if python.is_file() {
                return Ok(python);
            }
        }
        return choice.base_python().map(|(python, _)| python);
    }
    let venv = venv_dir(dir, manifest)?;
    ensure_venv(&venv, &wheels, &dir.join(REQUIREMENTS), choice)
}

/// Where the virtualenv of the bundle in `dir` lives (see the module docs).
pub fn venv_dir(dir: &Path, manifest: &Manifest) -> Result<PathBuf, BundleError> {
    if writable(dir) {
        return Ok(dir.join(".venv"));
    }
    let nonempty = |key: &str| std::env::var_os(key).filter(|v| !v.is_empty());
    let data = nonempty("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| nonempty("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .ok_or_else(|| BundleError::Venv {
            dir: dir.to_path_buf(),
            why: "the bundle directory is read-only and neither XDG_DATA_HOME nor HOME is set"
                .into(),
        })?;
    Ok(data
        .join("mm-python-shim")
        .join(format!("{}-{}", manifest.id, manifest.version)))
}

fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::access(path.as_ptr(), libc::W_OK) == 0 }
}

/// A Python ≥ 3.10: the one [`PYTHON_ENV`] names (which must qualify), else the first of
/// `python3`, `python3.14` … `python3.10` on `PATH` that does. Returns it with its version.
pub fn find_base_python() -> Result<(PathBuf, (u32, u32)), BundleError> {
    if let Some(named) = std::env::var_os(PYTHON_ENV).filter(|v| !v.is_empty()) {
        let shown = Path::new(&named).display().to_string();
        return named_python(&named)
            .map_err(|why| BundleError::NoPython(format!("{PYTHON_ENV}={shown} {why}")));
    }
    let mut seen = Vec::new();
    for name in PYTHON_NAMES {
        let Some(path) = on_path(OsStr::new(name)) else {
            continue;
        };
        match python_version(&path) {
            Some(v) if v >= MIN_PYTHON => return Ok((path, v)),
            Some((major, minor)) => seen.push(format!("{} is {major}.{minor}", path.display())),
            None => seen.push(format!("{} does not run", path.display())),
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    Err(BundleError::NoPython(if seen.is_empty() {
        format!(
            "none of {} is on PATH ({}) and {PYTHON_ENV} is not set",
            PYTHON_NAMES.join(", "),
            Path::new(&path).display()
        )
    } else {
        format!("{}, and {PYTHON_ENV} is not set", seen.join(", "))
    }))
}

/// The Python ≥ 3.10 `named` names (a path, or a command on `PATH`), or why it does not
/// qualify (a phrase: "is not on PATH", "is Python 3.8", …).
fn named_python(named: &OsStr) -> Result<(PathBuf, (u32, u32)), String> {
    let path = if Path::new(named).components().count() > 1 {
        let path = PathBuf::from(named);
        if !path.exists() {
            return Err("does not exist".into());
        }
        path
    } else {
        on_path(named).ok_or("is not on PATH")?
    };
    match python_version(&path) {
        Some(v) if v >= MIN_PYTHON => Ok((path, v)),
        Some((major, minor)) => Err(format!("is Python {major}.{minor}")),
        None => Err("does not run as a Python interpreter".into()),
    }
}

fn on_path(name: &OsStr) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `(major, minor)` of the interpreter at `python`, or `None` when it does not run.
fn python_version(python: &Path) -> Option<(u32, u32)> {
    let out = Command::new(python)
        .args(["-c", "import sys; print(*sys.version_info[:2])"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace().map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => Some((major, minor)),
        _ => None,
    }
}

/// What a virtualenv built from `wheels` (and `requirements`) records: the wheel files with
/// their sizes and the requirements text. A change rebuilds it.
fn fingerprint(wheels: &Path, requirements: &Path) -> std::io::Result<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(wheels)? {
        let entry = entry?;
        names.push(format!(
            "{} {}",
            entry.file_name().to_string_lossy(),
            entry.metadata()?.len()
        ));
    }
    names.sort();
    let mut text = names.join("\n");
    if let Ok(reqs) = std::fs::read_to_string(requirements) {
        text.push_str("\n--- requirements\n");
        text.push_str(&reqs);
    }
    Ok(text)
}

/// The virtualenv at `venv` built from `wheels` with the base interpreter `choice` gives:
/// reused when its stamp matches (the same wheels, requirements and base interpreter), else
/// (re)built under a lock file beside it (two starts at once build it once).
fn ensure_venv(
    venv: &Path,
    wheels: &Path,
    requirements: &Path,
    choice: &PythonChoice,
) -> Result<PathBuf, BundleError> {
    let fail = |why: String| BundleError::Venv {
        dir: venv.to_path_buf(),
        why,
    };
    let python = venv.join("bin").join("python");
    let stamp_path = venv.join(STAMP);
    // The base first: a virtualenv made with another interpreter (the operator changed the
    // setting, or the host's python3 moved to a new version) is made again.
    let (base, (major, minor)) = choice.base_python()?;
    let mut stamp = fingerprint(wheels, requirements)
        .map_err(|e| fail(format!("reading {}: {e}", wheels.display())))?;
    stamp.push_str(&format!(
        "\n--- python\n{} {major}.{minor}\n",
        base.display()
    ));
    let ready = || {
        python.is_file()
            && std::fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str())
    };
    if ready() {
        return Ok(python);
    }
    let parent = venv.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent)
        .map_err(|e| fail(format!("creating {}: {e}", parent.display())))?;
    let mut lock_name = venv
        .file_name()
        .unwrap_or(OsStr::new("venv"))
        .to_os_string();
    lock_name.push(".lock");
    let lock_path = parent.join(lock_name);
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| fail(format!("creating {}: {e}", lock_path.display())))?;
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor; the lock goes with it when the file is closed.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(fail(format!(
                "locking {}: {}",
                lock_path.display(),
                std::io::Error::last_os_error()
            )));
        }
    }
    if ready() {
        return Ok(python);
    }
    // A partial or outdated environment goes first (a symlink only loses the link).
    match std::fs::symlink_metadata(venv) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(venv),
        Ok(_) => std::fs::remove_file(venv),
        Err(_) => Ok(()),
    }
    .map_err(|e| fail(format!("removing the old environment: {e}")))?;

    tracing::info!(
        "creating the plugin's Python environment in {} with {} (Python {major}.{minor}) from the bundled wheels",
        venv.display(),
        base.display()
    );
    let started = std::time::Instant::now();
    // pip runs from its bundled wheel (`python pip-….whl/pip`, which pip supports), so the
    // virtualenv needs no ensurepip (Debian's python3-venv package).
    let pip_wheel = std::fs::read_dir(wheels)
        .map_err(|e| fail(format!("reading {}: {e}", wheels.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|n| n.starts_with("pip-") && n.ends_with(".whl"))
        });
    let mut create = Command::new(&base);
    create.args(["-m", "venv"]);
    if pip_wheel.is_some() {
        create.arg("--without-pip");
    }
    create.arg(venv);
    run(create, "python -m venv").map_err(fail)?;

    let mut install = Command::new(&python);
    match &pip_wheel {
        Some(wheel) => install.arg(wheel.join("pip")),
        None => install.args(["-m", "pip"]),
    };
    install
        .args([
            "install",
            "--no-index",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--quiet",
            "--find-links",
        ])
        .arg(wheels)
        .args(PACKAGES)
        // Nothing from the network, whatever pip's configuration on the host says.
        .env("PIP_NO_INDEX", "1");
    if requirements.is_file() {
        install.arg("-r").arg(requirements);
    }
    run(install, "pip install --no-index").map_err(fail)?;
    std::fs::write(&stamp_path, &stamp)
        .map_err(|e| fail(format!("writing {}: {e}", stamp_path.display())))?;
    tracing::info!(
        "the plugin's Python environment is ready ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    drop(lock);
    Ok(python)
}

/// Runs `cmd` with no stdin; on failure, its exit status and the end of its output.
fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{} {}",
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let chars: Vec<char> = text.trim().chars().collect();
    let tail: String = chars[chars.len().saturating_sub(2000)..].iter().collect();
    Err(format!("{what} failed ({}): {tail}", out.status))
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
        let (manifest, entry) = python_entry(root).unwrap();
        assert_eq!(manifest.id, "com.example.shim");
        assert_eq!(entry, root.join("plugin.py"));
        // No wheels: the bundle's own virtualenv.
        std::fs::create_dir_all(root.join(".venv/bin")).unwrap();
        std::fs::write(root.join(".venv/bin/python"), "").unwrap();
        assert_eq!(
            python_interpreter(root, &manifest, &PythonChoice::default()).unwrap(),
            root.join(".venv/bin/python")
        );
        assert_eq!(venv_dir(root, &manifest).unwrap(), root.join(".venv"));
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
        let err = python_entry(dir.path()).unwrap_err().to_string();
        assert!(err.contains("server.runtime"), "{err}");
    }

    #[test]
    fn a_missing_entry_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plugin.json"),
            r#"{"id": "com.example.gone", "version": "0.1.0",
                "server": {"runtime": "python", "executable": "plugin.py"}}"#,
        )
        .unwrap();
        let err = python_entry(dir.path()).unwrap_err().to_string();
        assert!(err.contains("plugin.py"), "{err}");
    }

    #[test]
    fn the_hook_record_is_read_when_present() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(recorded_hooks(dir.path()).unwrap(), None);
        std::fs::create_dir_all(dir.path().join("server")).unwrap();
        std::fs::write(
            dir.path().join(HOOKS_RECORD),
            r#"{"hooks": ["OnActivate", "ServeHTTP"]}"#,
        )
        .unwrap();
        assert_eq!(
            recorded_hooks(dir.path()).unwrap().unwrap(),
            ["OnActivate", "ServeHTTP"]
        );
        std::fs::write(dir.path().join(HOOKS_RECORD), r#"{"hooks": [1]}"#).unwrap();
        let err = recorded_hooks(dir.path()).unwrap_err().to_string();
        assert!(err.contains("python-plugin.json"), "{err}");
    }

    #[test]
    fn the_interpreter_setting_is_found_in_any_case() {
        let setting = |json: &str| interpreter_setting(json.as_bytes());
        assert_eq!(
            setting(r#"{"PythonInterpreter": " /usr/bin/python3.12 "}"#).unwrap(),
            "/usr/bin/python3.12"
        );
        assert_eq!(
            setting(r#"{"greeting": "Hej", "pythoninterpreter": "python3.11"}"#).unwrap(),
            "python3.11"
        );
        assert_eq!(setting(r#"{"Greeting": "Hej"}"#).unwrap(), "");
        assert_eq!(setting(r#"{"PythonInterpreter": null}"#).unwrap(), "");
        assert_eq!(setting("null").unwrap(), "");
        assert_eq!(setting("").unwrap(), "");
        assert!(setting(r#"{"PythonInterpreter": 3}"#).is_err());
    }

    #[test]
    fn a_setting_naming_no_python_says_so_and_names_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("python9");
        let choice = PythonChoice {
            setting: Some(missing.display().to_string()),
        };
        let err = choice.base_python().unwrap_err().to_string();
        assert!(
            err.contains(INTERPRETER_SETTING) && err.contains("does not exist"),
            "{err}"
        );
        // Not a Python at all.
        let choice = PythonChoice {
            setting: Some("true".into()),
        };
        let err = choice.base_python().unwrap_err().to_string();
        assert!(
            err.contains(INTERPRETER_SETTING) && err.contains("does not run"),
            "{err}"
        );
    }

    #[test]
    fn the_wheels_fingerprint_follows_files_and_requirements() {
        let dir = tempfile::tempdir().unwrap();
        let wheels = dir.path().join("wheels");
        std::fs::create_dir(&wheels).unwrap();
        std::fs::write(wheels.join("a-1.0-py3-none-any.whl"), "x").unwrap();
        let reqs = dir.path().join("requirements.txt");
        let first = fingerprint(&wheels, &reqs).unwrap();
        std::fs::write(&reqs, "requests\n").unwrap();
        let second = fingerprint(&wheels, &reqs).unwrap();
        assert_ne!(first, second);
        std::fs::write(wheels.join("a-1.0-py3-none-any.whl"), "xy").unwrap();
        assert_ne!(second, fingerprint(&wheels, &reqs).unwrap());
    }
}
