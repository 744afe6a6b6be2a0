//! The dev host refuses a plugin a Mattermost server would refuse, before starting anything: a
//! `min_server_version` above the host's version, or an executable outside the plugin directory.
//! The plugin's executable is a script that leaves a marker file when run, so "nothing started"
//! is observed, not assumed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mattermost_plugin_devhost::backend::memory::DEFAULT_SERVER_VERSION;
use mattermost_plugin_devhost::host::{DevHost, HostConfig};

/// A scratch directory with `plugin/` (the plugin directory) beside an `outside.sh`.
struct Layout {
    root: tempfile::TempDir,
}

impl Layout {
    fn new() -> Layout {
        let layout = Layout {
            root: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(layout.plugin()).unwrap();
        layout.script(&layout.root.path().join("outside.sh"));
        layout
    }

    fn plugin(&self) -> PathBuf {
        self.root.path().join("plugin")
    }

    fn marker(&self) -> PathBuf {
        self.root.path().join("ran")
    }

    /// An executable script that records that it ran, then exits (no handshake).
    fn script(&self, at: &Path) {
        let body = format!("#!/bin/sh\ntouch '{}'\n", self.marker().display());
        std::fs::write(at, body).unwrap();
        std::fs::set_permissions(at, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn manifest(&self, manifest: serde_json::Value) {
        std::fs::write(self.plugin().join("plugin.json"), manifest.to_string()).unwrap();
    }

    async fn start(&self) -> Result<(), String> {
        let config = HostConfig {
            plugin_dir: self.plugin(),
            http_addr: "127.0.0.1:0".parse().unwrap(),
            hook_timeout: Duration::from_secs(5),
            ..HostConfig::new(self.plugin())
        };
        match DevHost::start(config).await {
            Ok(host) => {
                host.stop().await;
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn ran(&self) -> bool {
        self.marker().exists()
    }
}

fn manifest(min_server_version: &str, executable: &str) -> serde_json::Value {
    serde_json::json!({
        "id": "com.example.refused",
        "name": "Refused",
        "version": "0.1.0",
        "min_server_version": min_server_version,
        "server": { "executable": executable },
    })
}

#[tokio::test]
async fn min_server_version_above_the_host_is_refused_before_starting() {
    let layout = Layout::new();
    layout.script(&layout.plugin().join("plugin.sh"));
    layout.manifest(manifest("99.0.0", "plugin.sh"));
    let err = layout.start().await.unwrap_err();
    assert!(
        err.contains("99.0.0") && err.contains(DEFAULT_SERVER_VERSION),
        "{err}"
    );
    assert!(!layout.ran(), "the plugin was started");

    // The same plugin with a version the host meets is started (and fails its handshake): the
    // marker does show a start.
    layout.manifest(manifest("9.0.0", "plugin.sh"));
    let err = layout.start().await.unwrap_err();
    assert!(layout.ran(), "the control plugin did not run: {err}");
}

#[tokio::test]
async fn executables_outside_the_plugin_directory_are_refused_before_starting() {
    let layout = Layout::new();
    layout.manifest(manifest("9.0.0", "../outside.sh"));
    let err = layout.start().await.unwrap_err();
    assert!(
        err.contains("`server.executable` \"../outside.sh\"")
            && err.contains("leaves the plugin directory"),
        "{err}"
    );

    let outside = layout.root.path().join("outside.sh");
    layout.manifest(manifest("9.0.0", &outside.display().to_string()));
    let err = layout.start().await.unwrap_err();
    assert!(err.contains("absolute path"), "{err}");

    std::os::unix::fs::symlink(&outside, layout.plugin().join("link.sh")).unwrap();
    layout.manifest(manifest("9.0.0", "link.sh"));
    let err = layout.start().await.unwrap_err();
    assert!(err.contains("outside the plugin directory"), "{err}");

    assert!(!layout.ran(), "a refused plugin was started");
}
