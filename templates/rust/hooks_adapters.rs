//! The fixed halves of the `PluginHooks` adapters: the server and client types, and the
//! observer a host uses to tell a stuck plugin from a slow one. Their per-hook trait
//! implementations are generated into `hooks.rs`.
//!
//! Hand-written: the generator copies this file verbatim from `templates/rust/`.

// See `support.rs`: `ApiError` is large on purpose.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::hooks::PluginHooks;
use crate::pb;
use crate::support::{ApiError, CallContext};

/// Serves a [`PluginHooks`] implementation (a plugin written in Rust) as the
/// `PluginHooks` gRPC service.
pub struct PluginHooksServer<T> {
    pub(crate) inner: Arc<T>,
}

impl<T> Clone for PluginHooksServer<T> {
    fn clone(&self) -> Self {
        PluginHooksServer {
            inner: self.inner.clone(),
        }
    }
}

impl<T: PluginHooks> PluginHooksServer<T> {
    pub fn new(inner: T) -> Self {
        PluginHooksServer {
            inner: Arc::new(inner),
        }
    }

    pub fn from_arc(inner: Arc<T>) -> Self {
        PluginHooksServer { inner }
    }

    pub fn into_service(
        self,
        max_message_size: usize,
    ) -> pb::plugin_hooks_server::PluginHooksServer<Self> {
        pb::plugin_hooks_server::PluginHooksServer::new(self)
            .max_decoding_message_size(max_message_size)
            .max_encoding_message_size(max_message_size)
    }
}

/// Told how unary hook calls end, so a host can tell a stuck plugin from a slow one.
pub trait HookObserver: Send + Sync + 'static {
    /// The plugin answered `hook` in time (with a result or an error).
    fn answered(&self, hook: &'static str);
    /// The plugin did not answer `hook` within `limit`; Go's default was used.
    fn timed_out(&self, hook: &'static str, limit: Duration);
}

/// The host's view of a plugin: calls `Implemented` once, answers hooks the plugin lacks
/// with Go's defaults without a call, and bounds every unary hook by a timeout after
/// which the default is returned (logged at WARN, and reported to the
/// [`HookObserver`] if one is set). Streaming hooks (HTTP, uploads) have no timeout.
#[derive(Clone)]
pub struct PluginHooksClient {
    pub(crate) inner: pb::plugin_hooks_client::PluginHooksClient<tonic::transport::Channel>,
    pub(crate) metadata: tonic::metadata::MetadataMap,
    pub(crate) implemented: Arc<tokio::sync::OnceCell<HashSet<String>>>,
    pub(crate) timeout: Duration,
    pub(crate) hook_timeouts: Arc<HashMap<String, Duration>>,
    pub(crate) observer: Option<Arc<dyn HookObserver>>,
}

impl PluginHooksClient {
    /// Default timeout for a unary hook.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    pub fn new(channel: tonic::transport::Channel) -> Self {
        PluginHooksClient {
            inner: pb::plugin_hooks_client::PluginHooksClient::new(channel)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
            metadata: Default::default(),
            implemented: Default::default(),
            timeout: Self::DEFAULT_TIMEOUT,
            hook_timeouts: Default::default(),
            observer: None,
        }
    }

    /// Reports every unary hook's outcome to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn HookObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The observer set with [`with_observer`](Self::with_observer): a host reports
    /// timeouts of the streaming hooks it bounds itself (HTTP) there too.
    pub fn observer(&self) -> Option<&Arc<dyn HookObserver>> {
        self.observer.as_ref()
    }

    pub(crate) fn report_timeout(&self, plugin_id: &str, hook: &'static str, limit: Duration) {
        tracing::warn!(
            plugin_id, hook, timeout = ?limit,
            "the plugin did not answer the hook in time; using the server's default"
        );
        if let Some(observer) = &self.observer {
            observer.timed_out(hook, limit);
        }
    }

    pub(crate) fn report_answer(&self, hook: &'static str) {
        if let Some(observer) = &self.observer {
            observer.answered(hook);
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A timeout for one hook (by Go name), overriding the default.
    pub fn with_hook_timeout(mut self, hook: &str, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.hook_timeouts).insert(hook.to_string(), timeout);
        self
    }

    pub fn with_metadata(
        mut self,
        key: &'static str,
        value: &str,
    ) -> Result<Self, tonic::metadata::errors::InvalidMetadataValue> {
        self.metadata.insert(key, value.parse()?);
        Ok(self)
    }

    pub(crate) fn timeout_for(&self, hook: &str) -> Duration {
        self.hook_timeouts
            .get(hook)
            .copied()
            .unwrap_or(self.timeout)
    }

    /// The hooks the plugin implements; asked once, then remembered.
    pub async fn implemented_hooks(&self) -> Result<&HashSet<String>, ApiError> {
        self.implemented
            .get_or_try_init(|| async {
                let names = PluginHooks::implemented(self, &CallContext::default()).await?;
                Ok(names.into_iter().collect())
            })
            .await
    }

    pub async fn is_implemented(&self, hook: &str) -> Result<bool, ApiError> {
        Ok(self.implemented_hooks().await?.contains(hook))
    }
}
