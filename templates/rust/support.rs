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
pub use crate::protocol::PLUGIN_ID_METADATA;

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

/// The AppError id of a method the server (or dev host) does not implement.
pub const NOT_IMPLEMENTED_ID: &str = "api.plugin.not_implemented.app_error";

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
            id: NOT_IMPLEMENTED_ID.into(),
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

    /// Whether this is [`ApiError::not_implemented`]'s error.
    pub fn is_not_implemented(&self) -> bool {
        matches!(self, ApiError::App(e) if e.status_code == 501 && e.id == NOT_IMPLEMENTED_ID)
    }

    /// A failed API call's status: `UNIMPLEMENTED` (a host without the method, or one that
    /// answers a method whose Go form has no room for a 501 that way) is
    /// [`ApiError::not_implemented`], as an AppError-returning method reports it; anything else
    /// is the transport's failure.
    pub fn from_api_status(method: &str, status: tonic::Status) -> Self {
        if status.code() == tonic::Code::Unimplemented {
            return ApiError::not_implemented(method);
        }
        ApiError::transport(method, status)
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

/// Go `any` values (`pb::AnyValue`, `pb::AnyMap`): constructors, and conversion from and to
/// JSON the way Go's `encoding/json` sees them.
pub mod any {
    use base64::Engine as _;
    use serde_json::Value as Json;

    use crate::pb::{AnyList, AnyMap, AnyValue, any_value::Kind};

    fn of(kind: Kind) -> AnyValue {
        AnyValue { kind: Some(kind) }
    }

    /// Go's nil.
    pub fn nil() -> AnyValue {
        AnyValue { kind: None }
    }

    pub fn bool(value: bool) -> AnyValue {
        of(Kind::BoolValue(value))
    }

    pub fn int(value: i64) -> AnyValue {
        of(Kind::IntValue(value))
    }

    pub fn uint(value: u64) -> AnyValue {
        of(Kind::UintValue(value))
    }

    pub fn float(value: f64) -> AnyValue {
        of(Kind::FloatValue(value))
    }

    pub fn string(value: impl Into<String>) -> AnyValue {
        of(Kind::StringValue(value.into()))
    }

    pub fn bytes(value: impl Into<Vec<u8>>) -> AnyValue {
        of(Kind::BytesValue(value.into()))
    }

    pub fn list(values: impl IntoIterator<Item = AnyValue>) -> AnyValue {
        of(Kind::ListValue(AnyList {
            values: values.into_iter().collect(),
        }))
    }

    /// A `map[string]any`.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, AnyValue)>) -> AnyMap {
        AnyMap {
            entries: entries.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }

    /// A `map[string]any` as an `any`.
    pub fn map_value(map: AnyMap) -> AnyValue {
        of(Kind::MapValue(map))
    }

    /// The text of a string value.
    pub fn as_str(value: &AnyValue) -> Option<&str> {
        match &value.kind {
            Some(Kind::StringValue(s)) => Some(s),
            _ => None,
        }
    }

    /// A JSON value as Go decodes it into `any`, except that whole numbers stay integers
    /// (signed when they fit `i64`, else unsigned) rather than becoming float64.
    pub fn from_json(value: &Json) -> AnyValue {
        match value {
            Json::Null => nil(),
            Json::Bool(b) => bool(*b),
            Json::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => int(i),
                (None, Some(u)) => uint(u),
                _ => float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => string(s.clone()),
            Json::Array(items) => list(items.iter().map(from_json)),
            Json::Object(entries) => map_value(map_from_json(entries)),
        }
    }

    /// A JSON object as a `map[string]any`.
    pub fn map_from_json(entries: &serde_json::Map<String, Json>) -> AnyMap {
        map(entries.iter().map(|(k, v)| (k.clone(), from_json(v))))
    }

    /// As JSON, the way `encoding/json` writes the Go value: bytes as base64 text, and floats
    /// JSON cannot hold (NaN, infinities) as null.
    pub fn to_json(value: &AnyValue) -> Json {
        match &value.kind {
            None => Json::Null,
            Some(Kind::BoolValue(b)) => Json::Bool(*b),
            Some(Kind::IntValue(i)) => Json::from(*i),
            Some(Kind::UintValue(u)) => Json::from(*u),
            Some(Kind::FloatValue(f)) => {
                serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number)
            }
            Some(Kind::StringValue(s)) => Json::String(s.clone()),
            Some(Kind::BytesValue(b)) => {
                Json::String(base64::engine::general_purpose::STANDARD.encode(b))
            }
            Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(to_json).collect()),
            Some(Kind::MapValue(m)) => map_to_json(m),
        }
    }

    /// A `map[string]any` as a JSON object.
    pub fn map_to_json(map: &AnyMap) -> Json {
        Json::Object(
            map.entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        )
    }
}
