//! `cargo xtask bundle <plugin-dir>`: a Python plugin as a bundle a stock Mattermost server
//! accepts (System Console upload, `mmctl plugin add`, `POST /api/v4/plugins`):
//! `<id>-<version>.tar.gz` holding one directory named by the plugin id with
//!
//! * `plugin.json`, rewritten so the server runs the shim: `server.executables.<platform>` =
//!   `server/dist/mm-python-shim-<platform>` for linux-amd64 and linux-arm64, with the author's
//!   `server.runtime: "python"` and `server.executable` (the entry script) kept for the shim;
//! * the plugin's files (its Python sources and anything else beside `plugin.json`, without
//!   virtualenvs, caches, dot-files and a top-level `dist/` or `wheels/`);
//! * `server/dist/mm-python-shim-<platform>`, the shim (`mm-python-shim`, release build linked
//!   against glibc 2.17's symbol versions with cargo-zigbuild, cross-built for arm64, debug
//!   info stripped);
//! * `wheels/`: the SDK (`sdk/python`) and the generated package (`generated/python`) built as
//!   wheels, and, from PyPI, pip and every dependency (theirs and the plugin's
//!   `requirements.txt`) as manylinux2014 wheels for each platform and Python version asked for
//!   (3.10 to 3.14 by default), with grpcio and protobuf held to the versions the repository
//!   tests (`tools/python-dev.txt`). The shim installs them without network on first start;
//! * `server/python-plugin.json`, `{"hooks": [...]}`: what the plugin's `Implemented` answers,
//!   found by running its entry script in the SDK's describe mode (`MM_PLUGIN_DESCRIBE`) in a
//!   throwaway virtualenv made from `wheels/`. The shim answers the server from it at once and
//!   starts Python only in `OnActivate`;
//! * in `plugin.json`, a text setting `PythonInterpreter` (unless the author has one): the
//!   server host's Python for the shim to use, empty to let it search `PATH`.
//!
//! What the server does with the archive (its upload handler lives in the server module, not in
//! `server/public`, so this is an assumption checked against its source, and exercised by the
//! test below with `server/public`'s own pieces): it extracts the archive (regular files keep
//! their modes), descends into the single top-level directory if there is one, reads the
//! manifest with `model.FindManifest`, checks the id and copies the directory to
//! `<plugins>/<id>` (`utils.CopyDir`) — on every server start too, so the shim's virtualenv is
//! created again after a restart.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A server platform a bundle carries the shim and the wheels for.
#[derive(Debug, PartialEq, Eq)]
pub struct Platform {
    /// Mattermost's name (`server.executables` key).
    pub name: &'static str,
    /// The Rust target the shim is cross-built for.
    pub rust_target: &'static str,
    /// The wheel platform tags of its dependency wheels (glibc 2.17 and later).
    pub wheel_tags: &'static [&'static str],
}

pub const PLATFORMS: &[Platform] = &[
    Platform {
        name: "linux-amd64",
        rust_target: "x86_64-unknown-linux-gnu",
        wheel_tags: &["manylinux2014_x86_64", "manylinux_2_17_x86_64"],
    },
    Platform {
        name: "linux-arm64",
        rust_target: "aarch64-unknown-linux-gnu",
        wheel_tags: &["manylinux2014_aarch64", "manylinux_2_17_aarch64"],
    },
];

/// The glibc whose symbol versions the release shim is linked against: the oldest a
/// manylinux2014 wheel runs on, so the bundle asks no more of the host than its wheels do.
pub const GLIBC_BASELINE: (u32, u32) = (2, 17);

pub fn platform(name: &str) -> Result<&'static Platform> {
    PLATFORMS.iter().find(|p| p.name == name).with_context(|| {
        let known: Vec<&str> = PLATFORMS.iter().map(|p| p.name).collect();
        format!("unknown platform {name}: the bundle knows {known:?}")
    })
}

/// The shim's path inside the bundle for one platform.
pub fn shim_path(platform: &Platform) -> String {
    format!("server/dist/mm-python-shim-{}", platform.name)
}

/// Python versions whose dependency wheels a bundle carries by default.
pub const DEFAULT_PYTHONS: &[&str] = &["3.10", "3.11", "3.12", "3.13", "3.14"];
/// The plugin's hooks as its `Implemented` would answer, recorded at build time: the shim
/// answers the server from it without waiting for Python (`{"hooks": [...]}`).
pub const HOOKS_RECORD: &str = "server/python-plugin.json";
/// The setting the bundle adds for the operator to name the server host's Python (the shim's
/// `bundle::INTERPRETER_SETTING`).
pub const INTERPRETER_SETTING: &str = "PythonInterpreter";
/// Names not copied from the top of the plugin directory (`plugin.json` is written anew).
const SKIPPED_AT_TOP: &[&str] = &["plugin.json", "venv", "wheels", "dist"];
/// Names not copied from anywhere in it (nor dot-files, nor `*.pyc`).
const SKIPPED: &[&str] = &["__pycache__", "node_modules"];

pub struct Options {
    pub plugin_dir: PathBuf,
    pub out_dir: PathBuf,
    /// A prebuilt linux-amd64 shim to use instead of the release build (the tests use the
    /// debug one).
    pub shim: Option<PathBuf>,
    pub pythons: Vec<String>,
    pub platforms: Vec<&'static Platform>,
}

/// Builds the bundle and returns the archive's path.
pub fn run(opts: &Options) -> Result<PathBuf> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        bail!("`cargo xtask bundle` cross-builds the shims from x86-64 Linux: run it there");
    }
    if opts.platforms.is_empty() {
        bail!("no platform to bundle for");
    }
    let dir = &opts.plugin_dir;
    let manifest = mattermost_plugin_runtime::manifest::Manifest::load(dir)
        .with_context(|| format!("{} is not a plugin directory", dir.display()))?;
    let mut json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("plugin.json")).context("reading plugin.json")?,
    )
    .context("parsing plugin.json")?;
    let server = json
        .get_mut("server")
        .and_then(|s| s.as_object_mut())
        .context("plugin.json has no `server` section")?;
    let entry = server
        .get("executable")
        .and_then(|e| e.as_str())
        .unwrap_or_default()
        .to_string();
    if server.get("runtime").and_then(|r| r.as_str()) != Some("python") || entry.is_empty() {
        bail!(
            "{}: a Python plugin has `\"server\": {{\"runtime\": \"python\", \"executable\": \"<entry>.py\"}}`",
            dir.join("plugin.json").display()
        );
    }
    if !dir.join(&entry).is_file() {
        bail!(
            "the entry script {} does not exist",
            dir.join(&entry).display()
        );
    }
    let executables: serde_json::Map<String, serde_json::Value> = opts
        .platforms
        .iter()
        .map(|p| (p.name.to_string(), shim_path(p).into()))
        .collect();
    server.insert("executables".into(), executables.into());
    add_interpreter_setting(&mut json)?;
    let id = manifest.id.clone();
    let archive = opts
        .out_dir
        .join(format!("{id}-{}.tar.gz", manifest.version));

    std::fs::create_dir_all(&opts.out_dir)
        .with_context(|| format!("creating {}", opts.out_dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".bundle-")
        .tempdir_in(&opts.out_dir)
        .context("creating the staging directory")?;
    let root = staging.path().join(&id);
    copy_plugin_files(dir, &root, true)?;
    std::fs::write(
        root.join("plugin.json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;

    for platform in &opts.platforms {
        let shim = match &opts.shim {
            Some(path) if platform.name == "linux-amd64" => path.clone(),
            _ => build_shim(platform)?,
        };
        let target = root.join(shim_path(platform));
        std::fs::create_dir_all(target.parent().unwrap())?;
        std::fs::copy(&shim, &target)
            .with_context(|| format!("copying the shim {}", shim.display()))?;
        strip_debug_info(&target);
        set_mode(&target, 0o755)?;
    }

    let wheels = root.join("wheels");
    std::fs::create_dir_all(&wheels)?;
    let requirements = dir.join("requirements.txt");
    collect_wheels(
        &wheels,
        requirements.is_file().then_some(requirements.as_path()),
        &opts.pythons,
        &opts.platforms,
    )?;
    record_hooks(dir, &entry, &wheels, &root.join(HOOKS_RECORD))?;

    let partial = archive.with_extension("gz.partial");
    write_archive(staging.path(), &id, &partial)?;
    std::fs::rename(&partial, &archive)?;
    let size = std::fs::metadata(&archive)?.len();
    let platforms: Vec<&str> = opts.platforms.iter().map(|p| p.name).collect();
    println!(
        "bundle: {} ({:.1} MiB): shim and wheels for {}, Python {}",
        archive.display(),
        size as f64 / (1024.0 * 1024.0),
        platforms.join(", "),
        opts.pythons.join(", ")
    );
    Ok(archive)
}

/// Adds the [`INTERPRETER_SETTING`] text setting to `settings_schema.settings` (made when
/// absent); a setting of that key the author wrote stays as it is.
fn add_interpreter_setting(manifest: &mut serde_json::Value) -> Result<()> {
    let top = manifest
        .as_object_mut()
        .context("plugin.json is not a JSON object")?;
    let schema = top
        .entry("settings_schema")
        .or_insert_with(|| serde_json::json!({}));
    if schema.is_null() {
        *schema = serde_json::json!({});
    }
    let schema = schema
        .as_object_mut()
        .context("plugin.json's `settings_schema` is not an object")?;
    let settings = schema
        .entry("settings")
        .or_insert_with(|| serde_json::json!([]));
    if settings.is_null() {
        *settings = serde_json::json!([]);
    }
    let settings = settings
        .as_array_mut()
        .context("plugin.json's `settings_schema.settings` is not a list")?;
    let taken = settings.iter().any(|s| {
        s.get("key")
            .and_then(|k| k.as_str())
            .is_some_and(|k| k.eq_ignore_ascii_case(INTERPRETER_SETTING))
    });
    if !taken {
        settings.push(serde_json::json!({
            "key": INTERPRETER_SETTING,
            "display_name": "Python interpreter",
            "type": "text",
            "help_text": "The Python (3.10 or newer) on the server host that runs this plugin: a full path such as /usr/bin/python3.12, or a command found on the server's PATH. Leave empty to use the first python3 found on the PATH. A change applies the next time the plugin is enabled.",
            "placeholder": "python3",
            "default": "",
        }));
    }
    Ok(())
}

/// Runs the plugin's entry script in SDK's describe mode (`MM_PLUGIN_DESCRIBE`) and writes
/// its hooks to `record`. The script runs in a throwaway virtualenv holding what the shim
/// will install from `wheels` (the build machine's Python may be a version the bundle does
/// not carry, so PyPI stays a fallback), so it imports exactly what the server host will.
fn record_hooks(plugin_dir: &Path, entry: &str, wheels: &Path, record: &Path) -> Result<()> {
    let base = crate::ensure_venv()?;
    let scratch = tempfile::Builder::new()
        .prefix("mm-bundle-describe-")
        .tempdir()
        .context("creating the describe virtualenv's directory")?;
    let venv = scratch.path().join("venv");
    let mut cmd = Command::new(&base);
    cmd.args(["-m", "venv", "--without-pip"]).arg(&venv);
    crate::run(cmd, "python -m venv (to describe the plugin)")?;
    let python = venv.join("bin/python");
    let mut ours = Vec::new();
    let mut pip_wheel = None;
    for entry in std::fs::read_dir(wheels)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.starts_with("pip-") && name.ends_with(".whl") {
            pip_wheel = Some(path);
        } else if name.starts_with("mattermost_plugin-")
            || name.starts_with("mattermost_plugin_api-")
        {
            // By file: a package of the same name on PyPI must not win.
            ours.push(path);
        }
    }
    let pip_wheel = pip_wheel.context("no pip wheel among the bundle's wheels")?;
    // pip from its wheel, as the shim runs it: the venv needs no ensurepip.
    let mut cmd = Command::new(&python);
    cmd.arg(pip_wheel.join("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--find-links",
        ])
        .arg(wheels)
        .args(&ours);
    let requirements = plugin_dir.join("requirements.txt");
    if requirements.is_file() {
        cmd.arg("-r").arg(&requirements);
    }
    crate::run(
        cmd,
        "pip install (the bundle's packages, to describe the plugin)",
    )?;

    let out_file = scratch.path().join("describe.json");
    let output = Command::new(&python)
        .arg(entry)
        .current_dir(plugin_dir)
        .env("MM_PLUGIN_DESCRIBE", &out_file)
        // Never the server's handshake, and no __pycache__ in the author's directory.
        .env_remove("MATTERMOST_PLUGIN")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("running {entry} to describe the plugin"))?;
    let tail = || {
        let text = String::from_utf8_lossy(&output.stderr);
        let chars: Vec<char> = text.trim().chars().collect();
        chars[chars.len().saturating_sub(3000)..]
            .iter()
            .collect::<String>()
    };
    if !output.status.success() || !out_file.is_file() {
        bail!(
            "{entry} did not describe the plugin ({}; is `run_plugin(<class>)` reached when the script runs?): {}",
            output.status,
            tail()
        );
    }
    let described: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_file)?)
        .with_context(|| format!("{entry}'s description is not JSON"))?;
    let hooks: Vec<String> = described
        .get("hooks")
        .and_then(|h| h.as_array())
        .and_then(|h| h.iter().map(|n| n.as_str().map(str::to_string)).collect())
        .with_context(|| format!("{entry}'s description has no list of hook names: {described}"))?;
    std::fs::create_dir_all(record.parent().unwrap())?;
    std::fs::write(
        record,
        serde_json::to_string_pretty(&serde_json::json!({ "hooks": hooks }))? + "\n",
    )?;
    println!("bundle: the plugin implements {}", hooks.join(", "));
    Ok(())
}

/// Copies what belongs to the plugin from `from` into `to` (files followed through symlinks:
/// the server's extraction takes only regular files and directories).
fn copy_plugin_files(from: &Path, to: &Path, top: bool) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str.starts_with('.')
            || SKIPPED.contains(&name_str.as_ref())
            || name_str.ends_with(".pyc")
            || (top
                && (SKIPPED_AT_TOP.contains(&name_str.as_ref()) || name_str.ends_with(".tar.gz")))
        {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path)?;
        if meta.is_dir() {
            copy_plugin_files(&path, &to.join(&name), false)?;
        } else if meta.is_file() {
            std::fs::copy(&path, to.join(&name))
                .with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

/// The release shim for `platform`, linked against glibc 2.17's symbol versions (so it runs on
/// hosts as old as that) with cargo-zigbuild and zig as the (cross) linker, both from PyPI
/// (`tools/bundle-tools.txt`, installed into `target/bundle-tools` on first use); its path.
pub fn build_shim(platform: &Platform) -> Result<PathBuf> {
    ensure_rust_target(platform)?;
    let tools = bundle_tools()?;
    let glibc_target = format!(
        "{}.{}.{}",
        platform.rust_target, GLIBC_BASELINE.0, GLIBC_BASELINE.1
    );
    let mut cmd = crate::cargo();
    // cargo finds `cargo-zigbuild` on PATH, and it finds zig as `python3 -m ziglang`.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![tools.join("bin")];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs)?).args([
        "zigbuild",
        "--release",
        "--target",
        &glibc_target,
        "-p",
        "mattermost-plugin-shim",
        "--bin",
        "mm-python-shim",
    ]);
    crate::run(
        cmd,
        &format!("cargo zigbuild --release --target {glibc_target} (mm-python-shim)"),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target"));
    // The glibc suffix is the linker's business: cargo's output directory is the plain triple.
    Ok(target
        .join(platform.rust_target)
        .join("release/mm-python-shim"))
}

/// The Rust standard library for `platform`'s target, added with rustup when missing.
fn ensure_rust_target(platform: &Platform) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out) if out.status.success() => {
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == platform.rust_target)
            {
                return Ok(());
            }
        }
        // Without rustup the toolchain may still have the target; cargo will say if not.
        _ => return Ok(()),
    }
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", platform.rust_target]);
    crate::run(cmd, &format!("rustup target add {}", platform.rust_target)).with_context(|| {
        format!(
            "the {} shim needs Rust's standard library for {}; without it, bundle for the other platforms only (--platform linux-amd64)",
            platform.name, platform.rust_target
        )
    })
}

/// A virtualenv with `tools/bundle-tools.txt` installed, made or refreshed when that file
/// changes; its path.
fn bundle_tools() -> Result<PathBuf> {
    let venv = crate::root().join("target/bundle-tools");
    crate::requirements_venv(&venv, "tools/bundle-tools.txt", |_| Ok(()))?;
    Ok(venv)
}

/// Drops debug info with binutils' `strip` when it is installed (a debug build shrinks about
/// tenfold); the symbols stay, for backtraces.
fn strip_debug_info(binary: &Path) {
    match Command::new("strip")
        .arg("--strip-debug")
        .arg(binary)
        .status()
    {
        Ok(status) if status.success() => {}
        Ok(status) => {
            eprintln!("note: strip --strip-debug failed ({status}); the shim keeps its debug info")
        }
        Err(_) => eprintln!("note: `strip` not found; the shim keeps its debug info"),
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

/// The SDK and the generated package as wheels (built with the repository's virtualenv, no
/// network), then pip and every dependency from PyPI for each Python version.
fn collect_wheels(
    wheels: &Path,
    requirements: Option<&Path>,
    pythons: &[String],
    platforms: &[&Platform],
) -> Result<()> {
    let python = crate::ensure_venv()?;
    let root = crate::root();
    let mut cmd = crate::pip(&python, "wheel");
    cmd.args(["--no-deps", "--no-build-isolation", "--wheel-dir"])
        .arg(wheels)
        .arg(root.join("sdk/python"))
        .arg(root.join("generated/python"));
    crate::run(cmd, "pip wheel sdk/python generated/python")?;
    let ours: Vec<PathBuf> = std::fs::read_dir(wheels)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    if ours.len() != 2 {
        bail!("expected two wheels from sdk/python and generated/python, found {ours:?}");
    }
    // The dependencies the repository is tested with.
    let pins: String = std::fs::read_to_string(root.join("tools/python-dev.txt"))?
        .lines()
        .filter(|l| l.starts_with("grpcio==") || l.starts_with("protobuf=="))
        .map(|l| format!("{l}\n"))
        .collect();
    let constraints = wheels.with_file_name("constraints.txt");
    std::fs::write(&constraints, pins)?;
    for (version, platform) in pythons
        .iter()
        .flat_map(|v| platforms.iter().map(move |p| (v, p)))
    {
        let mut cmd = crate::pip(&python, "download");
        cmd.args([
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            version,
        ]);
        for tag in platform.wheel_tags {
            cmd.args(["--platform", tag]);
        }
        cmd.arg("--dest")
            .arg(wheels)
            .arg("--constraint")
            .arg(&constraints)
            .args(&ours)
            .arg("pip");
        if let Some(reqs) = requirements {
            cmd.arg("-r").arg(reqs);
        }
        crate::run(
            cmd,
            &format!(
                "pip download (dependency wheels for Python {version}, {})",
                platform.name
            ),
        )?;
    }
    std::fs::remove_file(&constraints)?;
    Ok(())
}

/// `<staging>/<id>/…` as a gzipped tar with `<id>/` at the top: regular files and directories
/// only, modes kept (0755 or 0644), owners and times normalised.
fn write_archive(staging: &Path, id: &str, to: &Path) -> Result<()> {
    let file = std::fs::File::create(to).with_context(|| format!("creating {}", to.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(true);
    tar.append_dir_all(id, staging.join(id))
        .context("writing the archive")?;
    tar.into_inner()?.finish()?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read;

    /// Every entry of the archive: path → (mode, contents for small files).
    fn entries(archive: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(archive).unwrap());
        let mut tar = tar::Archive::new(gz);
        let mut out = BTreeMap::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mode = entry.header().mode().unwrap();
            let kind = entry.header().entry_type();
            assert!(
                kind.is_file() || kind.is_dir(),
                "{path}: only files and directories belong in a bundle"
            );
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            out.insert(path, (mode, data));
        }
        out
    }

    /// The highest `GLIBC_x.y` symbol version the ELF file needs.
    fn highest_glibc(binary: &[u8]) -> Option<(u32, u32)> {
        use object::{Object, ObjectSection};
        let file = object::File::parse(binary).expect("the shim is an ELF file");
        let dynstr = file.section_by_name(".dynstr")?.data().ok()?;
        dynstr
            .split(|b| *b == 0)
            .filter_map(|s| std::str::from_utf8(s).ok()?.strip_prefix("GLIBC_"))
            .filter_map(|v| {
                let mut parts = v.split('.').map(str::parse::<u32>);
                Some((parts.next()?.ok()?, parts.next().unwrap_or(Ok(0)).ok()?))
            })
            .max()
    }

    /// The release shims `cargo xtask bundle` puts in a bundle, cross-built with cargo-zigbuild:
    /// each for its platform's machine, each needing no glibc newer than the baseline.
    #[test]
    fn release_shims_run_on_old_glibc_on_both_platforms() {
        use object::Object;
        for platform in PLATFORMS {
            let started = std::time::Instant::now();
            let binary = std::fs::read(build_shim(platform).unwrap()).unwrap();
            let file = object::File::parse(&*binary).expect("the shim is an ELF file");
            let expected = match platform.name {
                "linux-amd64" => object::Architecture::X86_64,
                "linux-arm64" => object::Architecture::Aarch64,
                other => panic!("no expected architecture for {other}"),
            };
            assert_eq!(file.architecture(), expected, "{}", platform.name);
            let glibc = highest_glibc(&binary).expect("the shim links glibc");
            assert!(
                glibc <= GLIBC_BASELINE,
                "the {} shim needs glibc {}.{}, newer than the {}.{} baseline",
                platform.name,
                glibc.0,
                glibc.1,
                GLIBC_BASELINE.0,
                GLIBC_BASELINE.1
            );
            eprintln!(
                "{}: release shim of {:.1} MiB needs glibc {}.{} (built in {:?})",
                platform.name,
                binary.len() as f64 / (1024.0 * 1024.0),
                glibc.0,
                glibc.1,
                started.elapsed()
            );
        }
    }

    /// `cargo xtask bundle examples/hello`, checked, then installed and run the way a stock
    /// server does it, with Mattermost's own plugin package (`shim/tests/mmhost`,
    /// `TestUploadedBundle*`).
    #[test]
    fn hello_bundle_runs_on_mattermosts_plugin_environment() {
        let root = crate::root();
        assert!(
            root.join(".venv/bin/python").is_file(),
            "the repository's .venv is missing: run `cargo xtask test` once to create it"
        );
        let started = std::time::Instant::now();
        // The debug shim the workspace's tests use. Built with the same selection as
        // `cargo xtask test`'s `cargo test --workspace --all-targets` (which has built it by
        // now, so this does nothing there): a narrower one could resolve features differently
        // and relink the binary under the shim's own tests.
        let mut cmd = crate::cargo();
        cmd.args(["build", "--workspace", "--all-targets"]);
        crate::run(cmd, "cargo build --workspace --all-targets").unwrap();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let out = tempfile::tempdir().unwrap();
        let archive = run(&Options {
            plugin_dir: root.join("examples/hello"),
            out_dir: out.path().to_path_buf(),
            shim: Some(target.join("debug/mm-python-shim")),
            pythons: DEFAULT_PYTHONS.iter().map(|v| v.to_string()).collect(),
            // The debug shim runs here; the release shims are checked on their own below.
            platforms: vec![platform("linux-amd64").unwrap()],
        })
        .unwrap();
        eprintln!("bundled in {:?}", started.elapsed());
        assert_eq!(
            archive.file_name().unwrap(),
            "com.example.hello-0.1.0.tar.gz"
        );

        let entries = entries(&archive);
        let top = "com.example.hello/";
        for path in entries.keys() {
            assert!(path.starts_with(top), "{path} is outside {top}");
        }
        let file = |rel: &str| {
            entries
                .get(&format!("{top}{rel}"))
                .unwrap_or_else(|| panic!("{rel} is not in the bundle: {:?}", entries.keys()))
        };
        let manifest: serde_json::Value = serde_json::from_slice(&file("plugin.json").1).unwrap();
        assert_eq!(manifest["id"], "com.example.hello");
        assert_eq!(
            manifest["settings_schema"]["settings"][0]["key"],
            "Greeting"
        );
        // The operator names the server host's Python there.
        let added = &manifest["settings_schema"]["settings"][1];
        assert_eq!(added["key"], INTERPRETER_SETTING, "{manifest}");
        assert_eq!(added["type"], "text");
        assert_eq!(added["default"], "");
        assert!(
            !added["display_name"].as_str().unwrap().is_empty()
                && added["help_text"].as_str().unwrap().contains("3.10"),
            "{added}"
        );
        // The shim loads this manifest with the runtime's checks.
        let unpacked = tempfile::tempdir().unwrap();
        std::fs::write(unpacked.path().join("plugin.json"), &file("plugin.json").1).unwrap();
        mattermost_plugin_runtime::manifest::Manifest::load(unpacked.path()).unwrap();
        // examples/hello's handlers, and OnConfigurationChange, which the SDK always takes.
        let record: serde_json::Value = serde_json::from_slice(&file(HOOKS_RECORD).1).unwrap();
        assert_eq!(
            record,
            serde_json::json!({"hooks": [
                "ExecuteCommand",
                "MessageWillBePosted",
                "OnActivate",
                "OnConfigurationChange",
                "ServeHTTP",
            ]})
        );
        assert_eq!(
            manifest["server"],
            serde_json::json!({
                "executables": {"linux-amd64": "server/dist/mm-python-shim-linux-amd64"},
                "runtime": "python",
                "executable": "plugin.py",
            })
        );
        assert_eq!(
            file("plugin.py").1,
            std::fs::read(root.join("examples/hello/plugin.py")).unwrap()
        );
        let (mode, shim) = file("server/dist/mm-python-shim-linux-amd64");
        assert_eq!(mode & 0o777, 0o755);
        assert!(shim.starts_with(b"\x7fELF"));
        let glibc = highest_glibc(shim).expect("the shim links glibc");
        eprintln!(
            "the shim needs glibc {}.{} or newer (highest GLIBC_ symbol version it references)",
            glibc.0, glibc.1
        );
        assert!(file("plugin.py").0 & 0o111 == 0);

        let wheels: Vec<&str> = entries
            .keys()
            .filter_map(|p| p.strip_prefix(&format!("{top}wheels/")))
            .filter(|n| !n.is_empty())
            .collect();
        let has = |prefix: &str, tag: &str| {
            wheels
                .iter()
                .any(|w| w.starts_with(prefix) && w.contains(tag) && w.ends_with(".whl"))
        };
        assert!(
            has("mattermost_plugin-0.1.0-", "py3-none-any"),
            "{wheels:?}"
        );
        assert!(
            has("mattermost_plugin_api-0.1.0-", "py3-none-any"),
            "{wheels:?}"
        );
        assert!(has("pip-", "py3-none-any"), "{wheels:?}");
        assert!(has("protobuf-", "x86_64"), "{wheels:?}");
        for version in DEFAULT_PYTHONS {
            let tag = format!("-cp{}-", version.replace('.', ""));
            assert!(
                has("grpcio-", &tag),
                "no grpcio wheel for {version}: {wheels:?}"
            );
        }
        // Nothing of the developer's machine.
        assert!(
            !entries
                .keys()
                .any(|p| p.contains("/.venv") || p.contains("__pycache__")),
            "{:?}",
            entries.keys()
        );

        // Installed as the server installs an upload, started with plugin.NewEnvironment of
        // each server/public release the harness covers.
        for module in crate::SHIM_HARNESS_MODULES {
            let dir = root.join("shim/tests").join(module);
            let output = Command::new("go")
                .args([
                    "test",
                    "-count=1",
                    "-timeout",
                    "300s",
                    "-v",
                    "-run",
                    "TestUploadedBundle",
                    ".",
                ])
                .current_dir(&dir)
                .env("SHIM_BUNDLE", &archive)
                .output()
                .expect("these tests need Go on PATH");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "go test in {} failed ({}):\n{stdout}\n{}",
                dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            for test in [
                "TestUploadedBundle",
                "TestUploadedBundleWithoutPython",
                "TestUploadedBundleWithInterpreterSetting",
                "TestUploadedBundleWithMissingInterpreter",
                "TestUploadedBundleWithStaleRecord",
            ] {
                assert!(
                    stdout.contains(&format!("--- PASS: {test} ")),
                    "{test} did not pass:\n{stdout}"
                );
            }
            eprintln!("{module}:");
            for line in stdout
                .lines()
                .filter(|l| l.starts_with("--- ") || l.contains("bundle_test.go"))
            {
                eprintln!("{line}");
            }
        }
        eprintln!("bundle test took {:?}", started.elapsed());
    }
}
