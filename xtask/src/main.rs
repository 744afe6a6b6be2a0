//! `cargo xtask <command>`: the project's pipeline and checks.
//!
//! - `regen`: Go source → `spec/ir.json` → every generated file, with a summary of what changed;
//! - `check`: re-derives every generated file in memory and fails on drift; with Go available it
//!   also re-parses the pinned module and compares it with `spec/`;
//! - `test`: every test in the repository;
//! - `bench`: the benchmarks;
//! - `bundle`: a Python plugin as a `.tar.gz` a stock Mattermost server accepts.

mod bundle;
mod demo;
#[cfg(test)]
mod gob_check;
#[cfg(test)]
mod older_release;
mod proto_checks;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use codegen::Ir;
use codegen::emit::proto::FieldLock;
use codegen::ir::{ServiceKind, SourceInfo};
use codegen::source::{self, SourceSet};

/// The Mattermost `server/public` version used when `spec/` pins none yet.
const DEFAULT_VERSION: &str = "v0.4.4";
const SPEC_IR: &str = "spec/ir.json";
pub(crate) const SPEC_LOCK: &str = "spec/proto-lock.json";

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Re-run the whole pipeline: parse Mattermost's source, write spec/ and everything generated.
    Regen {
        /// A `server/public` module version (e.g. v0.4.4) or a path to a local checkout of
        /// server/public. Defaults to the version pinned in spec/ir.json.
        #[arg(long)]
        mattermost: Option<String>,
    },
    /// Fail when any generated or spec file differs from what the pipeline derives.
    Check,
    /// Run every test in the repository.
    Test {
        /// Run only the fault suite (crashes, hangs, load, bad input, hostile callers) on a
        /// Python plugin; `MM_FAULTS_LOAD_SECS` lengthens the load scenarios.
        #[arg(long)]
        faults: bool,
    },
    /// Run the benchmarks.
    Bench,
    /// Run the Python hello plugin on the dev host and drive it through its HTTP surface.
    Demo,
    /// Package a Python plugin for a stock Mattermost server: `<id>-<version>.tar.gz` with the
    /// shim (linux-amd64 and linux-arm64), the plugin's files and the wheels it installs from,
    /// offline.
    Bundle {
        /// The plugin directory (`plugin.json` with `"server": {"runtime": "python",
        /// "executable": "plugin.py"}`, the entry script, an optional `requirements.txt`).
        plugin_dir: PathBuf,
        /// Where to write the archive.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Python versions to carry dependency wheels for (the server host's must be one).
        #[arg(long, value_delimiter = ',', default_values_t = bundle::DEFAULT_PYTHONS.iter().map(|v| v.to_string()))]
        python: Vec<String>,
        /// Server platforms to carry the shim and the dependency wheels for.
        #[arg(long, value_delimiter = ',', default_values_t = bundle::PLATFORMS.iter().map(|p| p.name.to_string()))]
        platform: Vec<String>,
        /// A prebuilt linux-amd64 `mm-python-shim` to put in the bundle instead of a fresh
        /// release build.
        #[arg(long)]
        shim: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Regen { mattermost } => regen_at(&root(), mattermost.as_deref()),
        Cmd::Check => check(),
        Cmd::Test { faults: false } => test(),
        Cmd::Test { faults: true } => faults(),
        Cmd::Bench => bench(),
        Cmd::Demo => demo::run(),
        Cmd::Bundle {
            plugin_dir,
            out,
            python,
            platform,
            shim,
        } => platform
            .iter()
            .map(|name| bundle::platform(name))
            .collect::<Result<Vec<_>>>()
            .and_then(|platforms| {
                bundle::run(&bundle::Options {
                    plugin_dir,
                    out_dir: out,
                    shim,
                    pythons: python,
                    platforms,
                })
            })
            .map(|_| ()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    // xtask/ sits directly under the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Every file the pipeline derives from the IR and the field-number lock, as (path relative to
/// the root, contents). The lock itself is derived too: allocating numbers may extend it.
fn derived_files(ir: &Ir, lock: &FieldLock) -> Result<Vec<(String, String)>> {
    let (generated, lock) =
        codegen::emit::all(ir, lock).map_err(|e| anyhow::anyhow!("emitters:\n{e}"))?;
    let mut files = vec![
        (SPEC_IR.to_string(), ir.to_json()),
        (SPEC_LOCK.to_string(), lock.to_json()),
    ];
    files.extend(generated.into_iter().map(|f| (f.path, f.contents)));
    Ok(files)
}

/// Directories whose every file must come from the generator.
const GENERATED_DIRS: &[&str] = &[
    "generated/proto/mattermost",
    "generated/rust",
    "generated/gob",
    "generated/python/src",
];

fn read_lock(root: &Path) -> Result<FieldLock> {
    let path = root.join(SPEC_LOCK);
    match std::fs::read_to_string(&path) {
        Ok(text) => FieldLock::from_json(&text)
            .with_context(|| format!("{SPEC_LOCK} is not a valid field-number lock")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FieldLock::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Files under the generated directories, relative to `root`.
fn files_under(root: &Path, dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                // Python's bytecode caches are not ours to check or prune.
                if e.file_name() != "__pycache__" {
                    stack.push(p);
                }
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

fn read_spec(root: &Path) -> Result<Option<(String, Ir)>> {
    let path = root.join(SPEC_IR);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let ir = Ir::from_json(&text)
        .with_context(|| format!("{SPEC_IR} is not a valid IR (edited by hand?)"))?;
    Ok(Some((text, ir)))
}

/// Parses the given source (a version or a local path) into the IR.
fn parse_source(spec: &str) -> Result<Ir> {
    let resolved = source::resolve(spec)?;
    let set = SourceSet::from_dir(&resolved.dir)?;
    let info = SourceInfo {
        module: source::MODULE_PATH.to_string(),
        version: resolved.version,
    };
    let (ir, notes) = codegen::parse::parse_with_notes(&set, info, codegen::special::MATTERMOST)
        .map_err(|e| anyhow::anyhow!("cannot read the plugin API from {spec}:\n{e}"))?;
    for note in notes {
        println!("note: {note}");
    }
    Ok(ir)
}

fn summary(ir: &Ir) -> String {
    let api = ir.service(ServiceKind::Api).map_or(0, |s| s.methods.len());
    let hooks = ir
        .service(ServiceKind::Hooks)
        .map_or(0, |s| s.methods.iter().filter(|m| !m.protocol).count());
    format!(
        "{}@{}: {api} API methods, {hooks} hooks (+ Implemented), {} model types, {} external types",
        ir.source.module,
        ir.source.version,
        ir.types.len(),
        ir.externals.len()
    )
}

/// The pipeline against the tree at `root` (the repository for `cargo xtask regen`): parses
/// `mattermost` (a version or a local checkout; the version pinned in `spec/` when `None`),
/// rewrites `spec/` and the generated files under `root` and prints what changed.
fn regen_at(root: &Path, mattermost: Option<&str>) -> Result<()> {
    let previous = match read_spec(root) {
        Ok(p) => p.map(|(_, ir)| ir),
        Err(e) => {
            eprintln!("warning: {e:#}; regenerating from scratch");
            None
        }
    };
    let pinned = previous
        .as_ref()
        .map(|ir| ir.source.version.clone())
        .filter(|v| v != "local");
    let spec = mattermost
        .map(str::to_string)
        .or(pinned)
        .unwrap_or_else(|| DEFAULT_VERSION.to_string());
    let ir = parse_source(&spec)?;

    let lock = read_lock(root)?;
    let mut written = 0;
    let files = derived_files(&ir, &lock)?;
    let expected: std::collections::BTreeSet<&str> =
        files.iter().map(|(p, _)| p.as_str()).collect();
    for dir in GENERATED_DIRS {
        for stale in files_under(root, dir) {
            if !expected.contains(stale.as_str()) {
                std::fs::remove_file(root.join(&stale))
                    .with_context(|| format!("removing stale {stale}"))?;
                println!("removed stale {stale}");
            }
        }
    }
    for (rel, contents) in &files {
        let path = root.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(contents.as_str()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        written += 1;
    }

    println!("{}", summary(&ir));
    match &previous {
        None => println!("no previous spec: everything is new"),
        Some(old) => {
            let changes = codegen::diff::changes(old, &ir);
            if changes.is_empty() {
                println!("no API changes against the previous spec");
            } else {
                println!("{} change(s) against the previous spec:", changes.len());
                for c in changes {
                    println!("  {c}");
                }
            }
        }
    }
    println!(
        "{} generated file(s): {written} written, {} unchanged",
        files.len(),
        files.len() - written
    );
    Ok(())
}

fn check() -> Result<()> {
    check_at(&root())
}

/// The drift check against the tree at `root`.
fn check_at(root: &Path) -> Result<()> {
    let Some((text, ir)) = read_spec(root)? else {
        bail!("{SPEC_IR} is missing; run `cargo xtask regen`");
    };
    let lock = read_lock(root)?;
    let mut problems = Vec::new();
    let files = derived_files(&ir, &lock)?;
    let expected: std::collections::BTreeSet<&str> =
        files.iter().map(|(p, _)| p.as_str()).collect();
    for dir in GENERATED_DIRS {
        for stray in files_under(root, dir) {
            if !expected.contains(stray.as_str()) {
                problems.push(format!(
                    "{stray}: not produced by the generator (hand-added or stale)"
                ));
            }
        }
    }
    for (rel, expected) in files {
        let path = root.join(&rel);
        let actual = if rel == SPEC_IR {
            Some(text.clone())
        } else {
            std::fs::read_to_string(&path).ok()
        };
        match actual {
            None => problems.push(format!("{rel}: missing")),
            Some(actual) if actual != expected => problems.push(format!(
                "{rel}: differs from what the generator derives\n{}",
                short_diff(&expected, &actual)
            )),
            Some(_) => {}
        }
    }

    if ir.source.version == "local" {
        println!(
            "note: {SPEC_IR} was generated from a local checkout; not comparing it with a module version"
        );
    } else if Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let fresh = parse_source(&ir.source.version)?;
        let changes = codegen::diff::changes(&fresh, &ir);
        if !changes.is_empty() {
            problems.push(format!(
                "{SPEC_IR} does not match {}@{} ({} difference(s), listed as pinned module → spec):\n  {}",
                ir.source.module,
                ir.source.version,
                changes.len(),
                changes.join("\n  ")
            ));
        } else if fresh != ir {
            problems.push(format!("{SPEC_IR} does not match the pinned module"));
        }
    } else {
        println!("note: Go not found; {SPEC_IR} was not compared with the pinned module");
    }

    if problems.is_empty() {
        problems.extend(proto_checks::validate(root)?);
    }
    if problems.is_empty() {
        println!(
            "check: generated files and spec are up to date ({})",
            summary(&ir)
        );
        Ok(())
    } else {
        for p in &problems {
            eprintln!("drift: {p}");
        }
        bail!(
            "{} problem(s); run `cargo xtask regen` and commit the result (a buf breaking failure needs a generator or lock fix instead)",
            problems.len()
        )
    }
}

/// The first differing lines of two texts, as a unified diff excerpt.
fn short_diff(expected: &str, actual: &str) -> String {
    let diff = similar::TextDiff::from_lines(expected, actual);
    let text = diff
        .unified_diff()
        .context_radius(1)
        .header("generated", "on disk")
        .to_string();
    let mut lines: Vec<&str> = text.lines().take(40).collect();
    if text.lines().count() > 40 {
        lines.push("  …");
    }
    lines
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<()> {
    println!("==> {what}");
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// The Go modules under `shim/tests/` that load the shim with Mattermost's own plugin package,
/// one per server/public release (the pinned one with go-plugin 1.8, v0.1.10 with 1.6); they
/// share their test files.
pub const SHIM_HARNESS_MODULES: [&str; 2] = ["mmhost", "mmhost-v0.1.10"];

fn test() -> Result<()> {
    println!("==> cargo xtask check");
    check()?;
    rust_lints()?;
    // The Python bench's smoke run (bench targets run under `cargo test` too) needs the venv.
    let python = ensure_venv()?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--all-targets"])
        .env("MM_BENCH_PYTHON", &python);
    run(cmd, "cargo test --workspace")?;
    faults()?;
    let mut cmd = Command::new("go");
    cmd.args(["vet", "."])
        .current_dir(root().join("codegen/tests/go-reference"));
    run(cmd, "go vet (differential reference)")?;
    let mut cmd = Command::new("go");
    cmd.args(["vet", "./..."])
        .current_dir(root().join("shim/tests/go"));
    run(cmd, "go vet (shim interop tests)")?;
    for module in SHIM_HARNESS_MODULES {
        let mut cmd = Command::new("go");
        cmd.args(["vet", "./..."])
            .current_dir(root().join("shim/tests").join(module));
        run(
            cmd,
            &format!("go vet (shim on Mattermost's plugin package, {module})"),
        )?;
    }
    python_checks()?;
    // The main job must keep working: the demo drives the hello plugin end to end.
    demo::run()?;
    Ok(())
}

/// rustfmt and clippy over the workspace, and rustfmt over the hand-written Rust the generator
/// copies into the generated crate (`templates/rust/`; clippy sees it there, where the generated
/// modules opt out and the copied ones do not).
fn rust_lints() -> Result<()> {
    let have = |component: &str| {
        cargo()
            .args([component, "--version"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("fmt") || !have("clippy") {
        let mut cmd = Command::new("rustup");
        cmd.args(["component", "add", "rustfmt", "clippy"]);
        run(cmd, "rustup component add rustfmt clippy")?;
    }
    let mut cmd = cargo();
    cmd.args(["fmt", "--all", "--check"]);
    run(cmd, "cargo fmt --check")?;
    let mut cmd = Command::new("rustfmt");
    cmd.args(["--edition", "2024", "--check"])
        .args(files_under(&root(), "templates/rust"))
        .current_dir(root());
    run(cmd, "rustfmt --check templates/rust")?;
    let mut cmd = cargo();
    cmd.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(cmd, "cargo clippy")
}

/// The fault suite (`devhost/tests/faults.rs`, not part of a plain `cargo test`): each scenario
/// drives a Python plugin on a real `mm-plugin-host`, one at a time, and prints its figures.
fn faults() -> Result<()> {
    let python = ensure_venv()?;
    let mut cmd = cargo();
    cmd.args([
        "test",
        "-p",
        "mattermost-plugin-devhost",
        "--test",
        "faults",
        "--",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("MM_BENCH_PYTHON", &python);
    run(cmd, "fault suite")
}

/// The repository's virtualenv (`.venv`), created and filled from `tools/python-dev.txt` when
/// missing or out of date, with the generated package installed in editable mode.
fn ensure_venv() -> Result<PathBuf> {
    requirements_venv(&root().join(".venv"), "tools/python-dev.txt", |python| {
        for (package, deps) in [("generated/python", true), ("sdk/python", false)] {
            let mut cmd = pip(python, "install");
            cmd.arg("--no-build-isolation");
            if !deps {
                cmd.arg("--no-deps");
            }
            cmd.arg("-e").arg(root().join(package));
            run(cmd, &format!("pip install -e {package}"))?;
        }
        Ok(())
    })
}

/// `python -m pip <command> --quiet --disable-pip-version-check`, for more arguments.
fn pip(python: &Path, command: &str) -> Command {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        command,
        "--quiet",
        "--disable-pip-version-check",
    ]);
    cmd
}

/// A virtualenv at `venv` with the requirements file `requirements` (relative to the
/// repository) installed, then `finish` run with its Python; made or refreshed only when that
/// file changed since (a stamp inside the venv). Returns its Python.
fn requirements_venv(
    venv: &Path,
    requirements: &str,
    finish: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    let text = std::fs::read_to_string(root().join(requirements))
        .with_context(|| format!("reading {requirements}"))?;
    let stamp = venv.join(".requirements");
    if python.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(text.as_str()) {
        return Ok(python);
    }
    if !python.is_file() {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "venv"]).arg(venv);
        run(cmd, &format!("python3 -m venv {}", venv.display()))?;
    }
    let mut cmd = pip(&python, "install");
    cmd.arg("-r").arg(root().join(requirements));
    run(cmd, &format!("pip install -r {requirements}"))?;
    finish(&python)?;
    std::fs::write(&stamp, text).context("writing the venv stamp")?;
    Ok(python)
}

/// ruff and mypy --strict on the Python code, then pytest.
fn python_checks() -> Result<()> {
    let python = ensure_venv()?;
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "ruff",
        "check",
        "generated/python",
        "sdk/python",
        "tests/python",
        "examples",
        "devhost/benches/python",
    ])
    .args(python_templates())
    .current_dir(root());
    run(cmd, "ruff check")?;
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "mypy",
        "--strict",
        "generated/python/src/mattermost_plugin_api",
        "sdk/python/src/mattermost_plugin",
        "examples/hello/plugin.py",
        "devhost/benches/python",
    ])
    .current_dir(root());
    run(
        cmd,
        "mypy --strict (generated package, SDK, examples, bench scripts)",
    )?;
    // The plain Python the generator copies, checked as it stands in templates/ (its imports
    // resolve through the generated package installed in the venv).
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "mypy", "--strict"])
        .args(python_templates())
        .current_dir(root());
    run(cmd, "mypy --strict (Python templates copied as they are)")?;
    // The agent example on its own: its `plugin` module would clash with hello's, and it imports
    // its package (`mm_agent`) from its own directory, as the plugin does when it runs.
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "mypy", "--strict", "plugin.py", "mm_agent", "tests"])
        .current_dir(root().join("examples/agent"));
    run(cmd, "mypy --strict (examples/agent)")?;
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "pytest", "-q", "tests/python"])
        .current_dir(root());
    run(cmd, "pytest tests/python")?;
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "pytest", "-q", "examples/agent/tests"])
        .current_dir(root());
    run(cmd, "pytest examples/agent/tests")
}

/// The Python files under `templates/python/` that the generator copies unchanged (the others
/// there are askama templates, not Python until rendered).
fn python_templates() -> impl Iterator<Item = &'static str> {
    codegen::emit::python::STATIC_MODULES
        .iter()
        .map(|m| m.template)
}

fn bench() -> Result<()> {
    // The Python bench runs on the venv; set it up first so a broken venv fails before the long
    // Rust benches rather than after them.
    let python = ensure_venv()?;
    // Each bench prints its figures beside a baseline measured in the same run.
    let mut figures = Vec::new();
    for (package, bench, what) in [
        (
            "mattermost-plugin-codegen",
            "parse",
            "front-end parse of the pinned module",
        ),
        (
            "mattermost-plugin-devhost",
            "adapters",
            "GetUser through the generated adapters vs raw tonic",
        ),
        (
            "mattermost-plugin-runtime",
            "serve_http",
            "ServeHTTP streaming and plugin cold start",
        ),
        (
            "mattermost-plugin-devhost",
            "python_sdk",
            "Python SDK hook round trip, API calls and cold start vs raw grpcio",
        ),
        (
            "mattermost-plugin-devhost",
            "python_http",
            "Python ServeHTTP 256 MiB echo (SDK vs raw grpc.aio) and RSS growth",
        ),
        (
            "mattermost-plugin-shim",
            "stock_server",
            "Python plugin through the shim vs a native Go plugin on Mattermost's plugin package",
        ),
    ] {
        let mut cmd = cargo();
        cmd.args(["bench", "-p", package, "--bench", bench])
            .env("MM_BENCH_PYTHON", &python);
        figures.extend(run_collecting_figures(
            cmd,
            &format!("cargo bench: {what}"),
        )?);
    }
    bench_summary(&figures)
}

/// Runs a bench with its output shown as it comes, keeping its `BENCH-FIGURE <json>` lines
/// (`tools/bench_figure.rs`).
fn run_collecting_figures(mut cmd: Command, what: &str) -> Result<Vec<serde_json::Value>> {
    use std::io::BufRead;
    println!("==> {what}");
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let mut figures = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.with_context(|| format!("reading the output of {what}"))?;
            match line.strip_prefix("BENCH-FIGURE ") {
                Some(json) => figures.push(
                    serde_json::from_str(json)
                        .with_context(|| format!("{what}: a malformed figure line: {json}"))?,
                ),
                None => println!("{line}"),
            }
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(figures)
}

/// One table of every figure (ours, baseline, ratio, goal, met), also written as
/// `target/bench/summary.json` so runs can be compared across commits.
fn bench_summary(figures: &[serde_json::Value]) -> Result<()> {
    let text = |f: &serde_json::Value, key: &str| f[key].as_str().unwrap_or_default().to_string();
    let number = |f: &serde_json::Value, path: &[&str]| {
        path.iter()
            .fold(f, |v, k| &v[*k])
            .as_f64()
            .map_or_else(|| "-".to_string(), |x| format!("{x:.1}"))
    };
    let rows: Vec<[String; 6]> = figures
        .iter()
        .map(|f| {
            let unit = text(f, "unit");
            let arrow = if text(f, "better") == "higher" {
                "≥"
            } else {
                "≤"
            };
            [
                text(f, "name"),
                format!(
                    "{} {unit} (p99 {})",
                    number(f, &["ours", "median"]),
                    number(f, &["ours", "p99"])
                ),
                format!(
                    "{} {unit} ({})",
                    number(f, &["baseline", "median"]),
                    text(f, "baseline_name")
                ),
                format!("{:.2}×", f["ratio"].as_f64().unwrap_or(f64::NAN)),
                format!(
                    "{arrow} {:.2}×",
                    f["goal_ratio"].as_f64().unwrap_or(f64::NAN)
                ),
                if f["met"].as_bool() == Some(true) {
                    "met".to_string()
                } else {
                    format!("not met {}", text(f, "note"))
                        .trim_end()
                        .to_string()
                },
            ]
        })
        .collect();
    let header = ["figure", "ours (median)", "baseline", "ratio", "goal", ""];
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    println!("\n==> summary ({} figures)", rows.len());
    println!("{}", line(&header.map(String::from)));
    println!(
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-|-")
    );
    for row in &rows {
        println!("{}", line(row));
    }
    let out = root().join("target/bench/summary.json");
    std::fs::create_dir_all(out.parent().unwrap_or(&root())).context("creating target/bench")?;
    let summary = serde_json::json!({ "figures": figures });
    std::fs::write(&out, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("written to target/bench/summary.json");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the spec, the generated tree and buf.yaml, with the spec's IR edited by `edit`.
    fn scratch_with(edit: impl FnOnce(String) -> String) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-check-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        for rel in files_under(&root(), "spec")
            .into_iter()
            .chain(files_under(&root(), "generated"))
            .chain(["buf.yaml".to_string()])
        {
            let to = dir.join(&rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(root().join(&rel), &to).unwrap();
        }
        let spec = std::fs::read_to_string(root().join(SPEC_IR)).unwrap();
        std::fs::write(dir.join(SPEC_IR), edit(spec)).unwrap();
        dir
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    }

    fn check_error(edit: impl FnOnce(String) -> String) -> String {
        let dir = scratch_with(edit);
        let result = check_at(&dir);
        std::fs::remove_dir_all(&dir).ok();
        match result {
            Ok(()) => "passed".into(),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn committed_spec_passes() {
        assert_eq!(check_error(|s| s), "passed");
    }

    #[test]
    fn reformatted_spec_is_drift() {
        let err = check_error(|s| s.replacen("  \"source\"", "    \"source\"", 1));
        assert!(err.contains("problem(s)"), "{err}");
    }

    #[test]
    fn edited_fact_is_drift() {
        let err = check_error(|s| {
            s.replacen(
                "\"min_server_version\": \"5.2\"",
                "\"min_server_version\": \"5.3\"",
                1,
            )
        });
        assert!(err.contains("problem(s)"), "{err}");
    }

    #[test]
    fn hand_edited_proto_is_drift() {
        let dir = scratch_with(|s| s);
        let api = dir.join("generated/proto/mattermost/plugin/v1/api.proto");
        let text = std::fs::read_to_string(&api).unwrap().replacen(
            "string user_id = 1;",
            "string user_id = 7;",
            1,
        );
        std::fs::write(&api, text).unwrap();
        std::fs::write(
            dir.join("generated/proto/mattermost/plugin/v1/extra.proto"),
            "syntax = \"proto3\";\n",
        )
        .unwrap();
        let err = check_at(&dir)
            .map(|_| String::new())
            .unwrap_or_else(|e| format!("{e:#}"));
        std::fs::remove_dir_all(&dir).ok();
        assert!(err.contains("2 problem(s)"), "{err}");
    }

    /// `buf breaking` compares with the previous commit that touched the proto.
    #[test]
    fn breaking_change_against_the_previous_proto_commit_is_reported() {
        let dir = scratch_with(|s| s);
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
                .args(args)
                .current_dir(&dir)
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        git(&["add", "-A"]);
        git(&["commit", "-qm", "base"]);
        let common = dir.join("generated/proto/mattermost/plugin/v1/common.proto");
        let text = std::fs::read_to_string(&common)
            .unwrap()
            .replacen("  string id = 1;\n", "", 1);
        std::fs::write(&common, text).unwrap();
        let problems = proto_checks::validate(&dir).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("buf breaking") && p.contains("\"id\"")),
            "{problems:?}"
        );
    }

    #[test]
    fn invalid_spec_names_the_file() {
        let err = check_error(|s| s.replacen("\"services\"", "\"servicez\"", 1));
        assert!(err.contains("spec/ir.json is not a valid IR"), "{err}");
    }
}
