//! Error type, call context and stream helpers shared by the adapters.
//!
//! Hand-written: the generator copies this file verbatim from `templates/rust/`.

// `ApiError` holds the wire messages as they are; boxing them would allocate on every failure
// for no gain, since calls cross a socket anyway.
#![allow(clippy::result_large_err)]

use std::fmt;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};

use crate::pb;

/// A boxed, sendable stream.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send + 'static>>;

/// Chunks of a byte stream (`io.Reader` in Go).
pub type ByteStream = BoxStream<Result<Vec<u8>, ApiError>>;

/// Metadata key carrying the calling plugin's id.
pub const PLUGIN_ID_METADATA: &str = "mm-plugin-id";

/// Why a call failed: a business error from the other side (`*model.AppError` or a
/// Go `error`), or a transport failure.
#[derive(Debug, Clone)]
pub enum ApiError {
    App(pb::AppError),
    Error(pb::Error),
    Transport {
        method: String,
        status: tonic::Status,
    },
}

impl ApiError {
    /// An AppError with a status code, id and message.
    pub fn app(status_code: i64, id: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::App(pb::AppError {
            id: id.into(),
            message: message.into(),
            status_code,
            ..Default::default()
        })
    }

    /// 501 for a method this implementation does not provide.
    pub fn not_implemented(method: &str) -> Self {
        let mut e = pb::AppError {
            id: "api.plugin.not_implemented.app_error".into(),
            message: format!("{method} is not implemented by this server"),
            status_code: 501,
            ..Default::default()
        };
        e.r#where = method.to_string();
        ApiError::App(e)
    }

    /// A plain Go-style error (code 0).
    pub fn plain(message: impl Into<String>) -> Self {
        ApiError::Error(pb::Error {
            code: 0,
            message: message.into(),
        })
    }

    pub fn transport(method: &str, status: tonic::Status) -> Self {
        ApiError::Transport {
            method: method.to_string(),
            status,
        }
    }

    /// The HTTP-style status code, when the error carries one.
    pub fn status_code(&self) -> Option<i64> {
        match self {
            ApiError::App(e) => Some(e.status_code),
            _ => None,
        }
    }

    /// As an AppError for a response field: Go errors and transport failures become 500.
    pub fn into_app_error(self, method: &str) -> pb::AppError {
        match self {
            ApiError::App(e) => e,
            ApiError::Error(e) => pb::AppError {
                id: "api.plugin.error".into(),
                message: e.message,
                status_code: 500,
                r#where: method.to_string(),
                ..Default::default()
            },

            ApiError::Transport { status, .. } => pb::AppError {
                id: "api.plugin.transport".into(),
                message: status.message().to_string(),
                status_code: 500,
                r#where: method.to_string(),
                ..Default::default()
            },
        }
    }

    /// As a plain error for a response field.
    pub fn into_error(self) -> pb::Error {
        match self {
            ApiError::Error(e) => e,
            ApiError::App(e) => pb::Error {
                code: 0,
                message: e.message,
            },

            ApiError::Transport { status, .. } => pb::Error {
                code: 0,
                message: status.message().to_string(),
            },
        }
    }

    /// As a gRPC status, for methods without an error result.
    pub fn into_status(self) -> tonic::Status {
        match self {
            ApiError::Transport { status, .. } => status,
            other => tonic::Status::unknown(other.to_string()),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::App(e) => write!(f, "{} ({}): {}", e.status_code, e.id, e.message),
            ApiError::Error(e) => write!(f, "{}", e.message),
            ApiError::Transport { method, status } => {
                write!(f, "{method}: transport failure: {}", status.message())
            }
        }
    }
}

impl std::error::Error for ApiError {}
/// Who is calling and with which request metadata.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    pub plugin_id: String,
    pub metadata: tonic::metadata::MetadataMap,
}

impl CallContext {
    pub fn new(plugin_id: impl Into<String>) -> Self {
        CallContext {
            plugin_id: plugin_id.into(),
            metadata: Default::default(),
        }
    }

    /// Takes the request's metadata without copying it.
    pub fn from_owned_metadata(metadata: tonic::metadata::MetadataMap) -> Self {
        let plugin_id = metadata
            .get(PLUGIN_ID_METADATA)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        CallContext {
            plugin_id,
            metadata,
        }
    }

    pub fn from_metadata(metadata: &tonic::metadata::MetadataMap) -> Self {
        let plugin_id = metadata
            .get(PLUGIN_ID_METADATA)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        CallContext {
            plugin_id,
            metadata: metadata.clone(),
        }
    }
}

/// The items of a stream up to its first error (which ends it).
pub fn ok_items<T: Send + 'static>(
    stream: BoxStream<Result<T, ApiError>>,
) -> impl Stream<Item = T> + Send + 'static {
    stream
        .take_while(|item| futures_util::future::ready(item.is_ok()))
        .filter_map(|item| futures_util::future::ready(item.ok()))
}

/// A transport stream as an API stream.
pub fn from_transport<T: Send + 'static>(
    method: &'static str,
    stream: tonic::Streaming<T>,
) -> BoxStream<Result<T, ApiError>> {
    Box::pin(stream.map(move |item| item.map_err(|status| ApiError::transport(method, status))))
}

/// An API stream as a transport stream.
pub fn to_transport<T: Send + 'static>(
    stream: BoxStream<Result<T, ApiError>>,
) -> BoxStream<Result<T, tonic::Status>> {
    Box::pin(stream.map(|item| item.map_err(ApiError::into_status)))
}

/// Whether a failed hook call ended because its deadline passed: the plugin answered
/// DEADLINE_EXCEEDED, or tonic's own timer (grpc-timeout) cancelled it at the limit.
pub fn deadline_passed(
    status: &tonic::Status,
    started: tokio::time::Instant,
    limit: std::time::Duration,
) -> bool {
    match status.code() {
        tonic::Code::DeadlineExceeded => true,
        tonic::Code::Cancelled => started.elapsed() >= limit,
        _ => false,
    }
}

/// Merges call metadata into an outgoing request.
pub fn request_with<T>(
    message: T,
    fixed: &tonic::metadata::MetadataMap,
    ctx: &CallContext,
) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for source in [fixed, &ctx.metadata] {
        for entry in source.iter() {
            if let tonic::metadata::KeyAndValueRef::Ascii(k, v) = entry {
                request.metadata_mut().insert(k.clone(), v.clone());
            }
        }
    }

    if !ctx.plugin_id.is_empty()
        && let Ok(v) = ctx.plugin_id.parse()
    {
        request.metadata_mut().insert(PLUGIN_ID_METADATA, v);
    }

    request
}
