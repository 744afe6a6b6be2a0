//! `mm-plugin-host run --watch`: restart the plugin when a file in its directory changes.
//!
//! The directory is polled (modification time and size of every file) rather than watched with
//! inotify (`notify`): a plugin directory is a handful of files once the noise below is skipped,
//! so a scan every [`POLL_INTERVAL`] costs next to nothing; a poll needs no watch per directory
//! (a `.venv` linked in would otherwise cost thousands of them, against the kernel's per-user
//! limit), sees editors' write-to-temp-then-rename saves like any other, works the same on every
//! platform, and adds no dependency. The price is up to one interval of latency.
//!
//! A restart keeps the HTTP server, the backend's data and the API server: only the plugin
//! process is replaced ([`DevHost::restart_plugin`]), as when a plugin is redeployed on a server.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mattermost_plugin_runtime::manifest::Manifest;
use mattermost_plugin_runtime::supervisor::{Supervisor, SupervisorState, SupervisorStatus};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{DevHost, HostError, err};

/// How often the directory is scanned.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// A burst of changes (an editor's save, a `git checkout`) has ended once a scan this long after
/// the last change finds nothing new.
pub const QUIET_PERIOD: Duration = Duration::from_millis(300);
/// The longest a burst may hold back a restart: files that never stop changing (a log written
/// into the directory) still restart the plugin this often at most.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(3);
/// Entries one scan looks at; past that the rest is not watched (and a warning says so).
const MAX_ENTRIES: usize = 20_000;
/// Directory depth one scan descends to.
const MAX_DEPTH: usize = 24;

/// Directories that hold no plugin source but change on their own: caches, version control,
/// virtualenvs (any directory with a `pyvenv.cfg` is skipped too), build output of other tools.
const IGNORED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "node_modules",
    "target",
    ".idea",
    ".vscode",
];

/// Files editors and interpreters write beside the sources, and logs (a plugin or its runner
/// writing one into the directory would otherwise restart itself for ever).
fn ignored_file(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[".pyc", ".pyo", ".swp", ".swo", ".swx", ".tmp", ".log", "~"];
    SUFFIXES.iter().any(|s| name.ends_with(s))
        || name.starts_with(".#")
        // Vim's probe of whether it may write the directory.
        || name == "4913"
        || name == ".DS_Store"
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    /// A save by rename makes a new inode: seen even where timestamps are coarse and the size
    /// stays.
    inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        }
    }
}

/// Relative path → stamp of every watched file.
type Snapshot = BTreeMap<PathBuf, Stamp>;

struct Scan {
    files: Snapshot,
    truncated: bool,
}

/// Every watched file under `root`. Only an unreadable `root` is an error: entries that vanish
/// or cannot be read mid-scan are left out (the next scan sees them as they are then).
fn scan(root: &Path) -> io::Result<Scan> {
    let mut files = Snapshot::new();
    let mut seen = 0usize;
    let mut truncated = false;
    let mut pending = vec![(root.read_dir()?, 0usize)];
    while let Some((entries, depth)) = pending.pop() {
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                truncated = true;
                break;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            // Symlinked directories are not followed (a `.venv` linked to an environment); a
            // symlinked file is stamped by its target.
            if kind.is_dir() {
                if IGNORED_DIRS.contains(&name.as_ref())
                    || depth + 1 >= MAX_DEPTH
                    || path.join("pyvenv.cfg").exists()
                {
                    continue;
                }
                if let Ok(inner) = path.read_dir() {
                    pending.push((inner, depth + 1));
                }
                continue;
            }
            if ignored_file(&name) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            files.insert(relative, Stamp::of(&meta));
        }
        if truncated {
            break;
        }
    }
    Ok(Scan { files, truncated })
}

/// Files added, removed or changed between two snapshots, in path order.
fn differences(old: &Snapshot, new: &Snapshot) -> Vec<PathBuf> {
    let changed = new
        .iter()
        .filter(|(path, stamp)| old.get(*path) != Some(stamp))
        .map(|(path, _)| path.clone());
    let removed = old.keys().filter(|path| !new.contains_key(*path)).cloned();
    let mut all: Vec<PathBuf> = changed.chain(removed).collect();
    all.sort();
    all.dedup();
    all
}

/// Watches a plugin directory for changes (see the module docs for what is skipped).
pub struct DirWatcher {
    root: PathBuf,
    snapshot: Snapshot,
    warned_truncated: bool,
    failing: bool,
}

impl DirWatcher {
    /// Takes the first snapshot of `root`; later changes are measured against it.
    pub async fn new(root: &Path) -> Result<DirWatcher, HostError> {
        let root = root
            .canonicalize()
            .map_err(|e| err(&format!("watching {}", root.display()), e))?;
        let mut watcher = DirWatcher {
            root,
            snapshot: Snapshot::new(),
            warned_truncated: false,
            failing: false,
        };
        watcher.snapshot = watcher
            .scan()
            .await
            .map_err(|e| err(&format!("watching {}", watcher.root.display()), e))?;
        Ok(watcher)
    }

    /// Waits for the next burst of changes to end and returns the files it touched (relative to
    /// the directory; never empty). Runs until there is a change: cancel it to stop watching.
    pub async fn changed(&mut self) -> Vec<PathBuf> {
        loop {
            tokio::time::sleep(POLL_INTERVAL).await;
            let Some(first) = self.next_snapshot().await else {
                continue;
            };
            let mut touched = differences(&self.snapshot, &first);
            if touched.is_empty() {
                continue;
            }
            // Debounce: rescan until a scan a quiet period after the last change matches it, or
            // the settle limit passes.
            let began = Instant::now();
            let mut latest = first;
            while began.elapsed() < SETTLE_LIMIT {
                tokio::time::sleep(QUIET_PERIOD).await;
                let Some(next) = self.next_snapshot().await else {
                    continue;
                };
                let more = differences(&latest, &next);
                latest = next;
                if more.is_empty() {
                    break;
                }
                touched.extend(more);
            }
            touched.sort();
            touched.dedup();
            // A file changed and changed back within the burst still counts: it was saved.
            self.snapshot = latest;
            return touched;
        }
    }

    /// A fresh snapshot, or `None` (logged once per streak of failures) if the directory cannot
    /// be read right now.
    async fn next_snapshot(&mut self) -> Option<Snapshot> {
        match self.scan().await {
            Ok(snapshot) => {
                if self.failing {
                    tracing::info!(
                        dir = %self.root.display(),
                        "the plugin directory is readable again"
                    );
                    self.failing = false;
                }
                Some(snapshot)
            }
            Err(e) => {
                if !self.failing {
                    tracing::warn!(
                        dir = %self.root.display(),
                        error = %e,
                        "cannot read the plugin directory; still trying"
                    );
                    self.failing = true;
                }
                None
            }
        }
    }

    async fn scan(&mut self) -> io::Result<Snapshot> {
        let root = self.root.clone();
        // Blocking file system calls, off the runtime's worker threads.
        let scanned = tokio::task::spawn_blocking(move || scan(&root))
            .await
            .map_err(io::Error::other)??;
        if scanned.truncated && !self.warned_truncated {
            tracing::warn!(
                dir = %self.root.display(),
                limit = MAX_ENTRIES,
                "the plugin directory has more entries than are watched; changes past them are missed"
            );
            self.warned_truncated = true;
        }
        Ok(scanned.files)
    }
}

/// "plugin.py", "plugin.py and 2 more files".
pub fn describe_changes(files: &[PathBuf]) -> String {
    match files {
        [] => "nothing".into(),
        [one] => one.display().to_string(),
        [first, rest @ ..] => format!(
            "{} and {} more file{}",
            first.display(),
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    }
}

/// Restarts `host`'s plugin after every burst of changes `watcher` sees, for ever (cancel the
/// future to stop). A plugin that fails to start is reported, and the next change tries again.
pub async fn restart_on_changes(host: &mut DevHost, watcher: &mut DirWatcher) {
    loop {
        let changed = watcher.changed().await;
        tracing::info!(
            changed = %describe_changes(&changed),
            "files changed; restarting the plugin"
        );
        let began = Instant::now();
        match host.restart_plugin().await {
            Ok(()) => tracing::info!(
                plugin_id = %host.plugin_id(),
                implements = %host.implemented().join(", "),
                took_ms = began.elapsed().as_millis() as u64,
                "plugin restarted"
            ),
            Err(e) => tracing::error!(
                error = %e,
                "the plugin failed to start after the change; still watching, save again to retry"
            ),
        }
    }
}

/// Feeds the host's view of the plugin's status (`Shared::status`: the 503s of the plugin's
/// routes and `/api/v4/system/ping`) from the current supervisor, or holds a state of its own
/// while no supervisor runs the plugin (restarting, failed to restart).
pub(super) struct StatusFeed {
    sender: Arc<watch::Sender<SupervisorStatus>>,
    forward: Option<JoinHandle<()>>,
}

impl StatusFeed {
    /// A feed following `supervisor`, and the receiver the host reads.
    pub(super) fn follow(
        supervisor: &Supervisor,
    ) -> (StatusFeed, watch::Receiver<SupervisorStatus>) {
        let (sender, receiver) = watch::channel(supervisor.status());
        let mut feed = StatusFeed {
            sender: Arc::new(sender),
            forward: None,
        };
        feed.switch_to(supervisor);
        (feed, receiver)
    }

    /// Follows `supervisor` from now on.
    fn switch_to(&mut self, supervisor: &Supervisor) {
        self.stop_forwarding();
        let sender = self.sender.clone();
        // A receiver, not a `Supervisor` handle: following it must not keep the plugin alive.
        let mut status = supervisor.subscribe();
        sender.send_replace(status.borrow_and_update().clone());
        self.forward = Some(tokio::spawn(async move {
            while status.changed().await.is_ok() {
                sender.send_replace(status.borrow_and_update().clone());
            }
        }));
    }

    /// Stops following the supervisor and publishes `state` (with `error`, if any).
    fn hold(&mut self, state: SupervisorState, error: Option<String>) {
        self.stop_forwarding();
        self.sender.send_modify(|status| {
            status.state = state;
            status.pid = None;
            if error.is_some() {
                status.last_error = error;
            }
        });
    }

    fn stop_forwarding(&mut self) {
        if let Some(task) = self.forward.take() {
            task.abort();
        }
    }
}

impl Drop for StatusFeed {
    fn drop(&mut self) {
        self.stop_forwarding();
    }
}

/// The body of [`DevHost::restart_plugin`].
pub(super) async fn restart(host: &mut DevHost) -> Result<(), HostError> {
    host.status.hold(SupervisorState::Restarting, None);
    let report = super::deactivate_and_stop(&host.shared, &host.supervisor).await;
    tracing::info!(outcome = ?report.outcome, "plugin stopped for the restart");
    match start_again(host).await {
        Ok((supervisor, manifest, implemented)) => {
            host.status.switch_to(&supervisor);
            super::follow_restarts(host.shared.clone(), &supervisor);
            host.supervisor = supervisor;
            host.manifest = manifest;
            host.implemented = implemented;
            Ok(())
        }
        Err(e) => {
            host.status
                .hold(SupervisorState::Failed, Some(e.to_string()));
            Err(e)
        }
    }
}

/// Reads `plugin.json` again, starts a new plugin process and activates it.
async fn start_again(host: &DevHost) -> Result<(Supervisor, Manifest, Vec<String>), HostError> {
    let dir = &host.plugin_dir;
    let manifest = Manifest::load(dir).map_err(|e| err("manifest", e))?;
    if manifest.id != host.shared.plugin_id {
        return Err(HostError(format!(
            "manifest: the plugin id changed from {} to {}; start mm-plugin-host again to run another plugin",
            host.shared.plugin_id, manifest.id
        )));
    }
    manifest
        .check_server_version(crate::backend::memory::DEFAULT_SERVER_VERSION)
        .map_err(|e| err("manifest", e))?;
    let launch = manifest.launch(dir).map_err(|e| err("manifest", e))?;
    let api = host
        .api
        .as_ref()
        .ok_or_else(|| HostError("the host is stopping".into()))?;
    let plugin_id = &host.shared.plugin_id;
    let supervisor = Supervisor::start(super::supervisor_config(plugin_id, &launch, api))
        .await
        .map_err(|e| err(&format!("starting plugin {plugin_id}"), e))?;
    let hooks = supervisor
        .hooks_client(&supervisor.connection())
        .with_timeout(host.shared.timeout);
    match host.shared.hooks.write() {
        Ok(mut current) => *current = hooks,
        Err(poisoned) => *poisoned.into_inner() = hooks,
    }
    match super::activate(&host.shared).await {
        Ok(implemented) => Ok((supervisor, manifest, implemented)),
        Err(e) => {
            // Not activated: a server does not keep such a plugin running.
            supervisor.stop().await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_scan_skips_caches_virtualenvs_and_editor_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "plugin.py",
            "plugin.json",
            "pkg/helpers.py",
            "__pycache__/plugin.cpython-312.pyc",
            "pkg/__pycache__/helpers.cpython-312.pyc",
            ".pytest_cache/v/cache/lastfailed",
            ".git/index",
            ".venv/lib/site.py",
            "env/pyvenv.cfg",
            "env/lib/site.py",
            ".plugin.py.swp",
            "plugin.py~",
            "plugin.log",
            "4913",
        ] {
            write(&root.join(file), "x");
        }
        let files: Vec<String> = scan(root)
            .unwrap()
            .files
            .keys()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(files, ["pkg/helpers.py", "plugin.json", "plugin.py"]);
    }

    #[test]
    fn a_symlinked_directory_is_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        write(&outside.path().join("lib.py"), "x");
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("plugin.py"), "x");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linked")).unwrap();
        let scanned = scan(dir.path()).unwrap();
        assert_eq!(scanned.files.len(), 1);
    }

    #[test]
    fn differences_name_added_changed_and_removed_files() {
        let stamp = |len| Stamp {
            modified: None,
            len,
            inode: 1,
        };
        let old: Snapshot = [("a", 1), ("b", 1), ("c", 1)]
            .into_iter()
            .map(|(p, l)| (PathBuf::from(p), stamp(l)))
            .collect();
        let new: Snapshot = [("a", 1), ("b", 2), ("d", 1)]
            .into_iter()
            .map(|(p, l)| (PathBuf::from(p), stamp(l)))
            .collect();
        assert_eq!(
            differences(&old, &new),
            ["b", "c", "d"].map(PathBuf::from).to_vec()
        );
        assert_eq!(
            describe_changes(&differences(&old, &new)),
            "b and 2 more files"
        );
    }

    #[tokio::test]
    async fn a_burst_of_writes_is_one_change() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("plugin.py"), "v1");
        let mut watcher = DirWatcher::new(dir.path()).await.unwrap();
        let root = dir.path().to_path_buf();
        let writer = tokio::spawn(async move {
            for i in 0..5 {
                write(&root.join("plugin.py"), &format!("version {i}"));
                write(&root.join(format!("mod{i}.py")), "x");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let changed = tokio::time::timeout(Duration::from_secs(10), watcher.changed())
            .await
            .expect("a change within 10 s");
        writer.await.unwrap();
        assert!(changed.contains(&PathBuf::from("plugin.py")), "{changed:?}");
        assert_eq!(changed.len(), 6, "{changed:?}");
        // Nothing more happened: no second change.
        let again = tokio::time::timeout(POLL_INTERVAL * 4, watcher.changed()).await;
        assert!(again.is_err(), "{again:?}");
    }
}
