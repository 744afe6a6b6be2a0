//! Counts hook timeouts per generation: a plugin that keeps missing its deadlines is stuck (a
//! blocked event loop, every worker busy in a hung handler) even while it still answers health
//! checks, so it is restarted instead of silently answering every hook with Go's default.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mattermost_plugin_api::HookObserver;
use tokio::sync::mpsc;

/// A generation the host found stuck.
#[derive(Debug)]
pub(crate) struct Stuck {
    pub generation: u64,
    pub reason: String,
}

/// The [`HookObserver`] of one generation's hook clients.
pub(crate) struct HookWatch {
    pub(crate) plugin_id: String,
    pub(crate) generation: u64,
    /// Consecutive timeouts that make the plugin stuck; 0 never does.
    pub(crate) threshold: u32,
    pub(crate) consecutive: AtomicU32,
    pub(crate) reports: mpsc::UnboundedSender<Stuck>,
}

impl HookObserver for HookWatch {
    fn answered(&self, _hook: &'static str) {
        self.consecutive.store(0, Ordering::Relaxed);
    }

    fn timed_out(&self, hook: &'static str, limit: Duration) {
        let count = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if self.threshold == 0 || count < self.threshold {
            return;
        }
        // Reported once per threshold crossing; the supervisor ignores reports about a
        // generation that is no longer the current one.
        if count == self.threshold {
            tracing::error!(plugin_id = %self.plugin_id, generation = self.generation, hook,
                consecutive = count, "plugin keeps missing hook deadlines; reporting it unhealthy");
            let _ = self.reports.send(Stuck {
                generation: self.generation,
                reason: format!(
                    "{count} consecutive hook calls timed out (the last: {hook} after {limit:?})"
                ),
            });
        }
    }
}
