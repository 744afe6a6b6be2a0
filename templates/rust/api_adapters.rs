//! The fixed halves of the `PluginAPI` adapters: the server and client types. Their
//! per-method trait implementations are generated into `api.rs`.
//!
//! Hand-written: the generator copies this file verbatim from `templates/rust/`.

// See `support.rs`: `ApiError` is large on purpose.
#![allow(clippy::result_large_err)]

use crate::api::PluginApi;
use crate::pb;

/// Serves a [`PluginApi`] implementation as the `PluginAPI` gRPC service.
pub struct PluginApiServer<T> {
    pub(crate) inner: std::sync::Arc<T>,
}

impl<T> Clone for PluginApiServer<T> {
    fn clone(&self) -> Self {
        PluginApiServer {
            inner: self.inner.clone(),
        }
    }
}

impl<T: PluginApi> PluginApiServer<T> {
    pub fn new(inner: T) -> Self {
        PluginApiServer {
            inner: std::sync::Arc::new(inner),
        }
    }

    pub fn from_arc(inner: std::sync::Arc<T>) -> Self {
        PluginApiServer { inner }
    }

    /// The tonic service, accepting messages up to `max_message_size` bytes.
    pub fn into_service(
        self,
        max_message_size: usize,
    ) -> pb::plugin_api_server::PluginApiServer<Self> {
        pb::plugin_api_server::PluginApiServer::new(self)
            .max_decoding_message_size(max_message_size)
            .max_encoding_message_size(max_message_size)
    }
}

/// Calls a remote `PluginAPI` service through the [`PluginApi`] trait.
#[derive(Clone)]
pub struct PluginApiClient {
    pub(crate) inner: pb::plugin_api_client::PluginApiClient<tonic::transport::Channel>,
    pub(crate) metadata: tonic::metadata::MetadataMap,
}

impl PluginApiClient {
    pub fn new(channel: tonic::transport::Channel) -> Self {
        PluginApiClient {
            inner: pb::plugin_api_client::PluginApiClient::new(channel)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
            metadata: Default::default(),
        }
    }

    /// Sends `key: value` metadata (an auth token, say) with every call.
    pub fn with_metadata(
        mut self,
        key: &'static str,
        value: &str,
    ) -> Result<Self, tonic::metadata::errors::InvalidMetadataValue> {
        self.metadata.insert(key, value.parse()?);
        Ok(self)
    }
}
