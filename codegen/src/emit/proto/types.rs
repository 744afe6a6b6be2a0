//! The typed contract the proto stage hands to the language emitters: field types as values
//! (rendered for the .proto through `Display`), and each rpc's shape, arguments, results and error
//! field. Emitters match on these exhaustively, so a new case fails to compile in every emitter
//! until it is handled there.

use std::fmt;

/// A proto scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scalar {
    String,
    Bytes,
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Float,
    Double,
}

impl Scalar {
    pub fn proto_name(self) -> &'static str {
        match self {
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
            Scalar::Bool => "bool",
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::Uint32 => "uint32",
            Scalar::Uint64 => "uint64",
            Scalar::Float => "float",
            Scalar::Double => "double",
        }
    }

    /// Whether proto allows this scalar as a map key.
    pub fn is_map_key(self) -> bool {
        matches!(
            self,
            Scalar::String
                | Scalar::Int32
                | Scalar::Int64
                | Scalar::Uint32
                | Scalar::Uint64
                | Scalar::Bool
        )
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.proto_name())
    }
}

/// The messages that carry Go's `any` (static messages of common.proto).
pub const ANY_VALUE: &str = "AnyValue";
pub const ANY_LIST: &str = "AnyList";
pub const ANY_MAP: &str = "AnyMap";

/// The type of one value (no label).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    Scalar(Scalar),
    /// A message of this contract, by its proto name (`User`, `AppError`, `StringList`).
    Message(String),
    /// `AnyMap` (common.proto): a Go `map[string]any`, each value keeping its kind.
    AnyMap,
    /// `AnyValue` (common.proto): a Go `any` — nil, bool, signed or unsigned integer, float,
    /// string, bytes, list or map, kept apart.
    Any,
    /// `google.protobuf.Timestamp`.
    Timestamp,
}

impl ValueType {
    /// The last part of the type's name, for naming wrapper messages (`StringList`).
    pub fn stem(&self) -> String {
        match self {
            ValueType::Scalar(s) => heck::AsUpperCamelCase(s.proto_name()).to_string(),
            ValueType::Message(m) => heck::AsUpperCamelCase(m).to_string(),
            ValueType::AnyMap => "AnyMap".into(),
            ValueType::Any => "AnyValue".into(),
            ValueType::Timestamp => "Timestamp".into(),
        }
    }

    /// The proto file a well-known type needs imported.
    pub fn well_known_import(&self) -> Option<&'static str> {
        match self {
            ValueType::Timestamp => Some("google/protobuf/timestamp.proto"),
            ValueType::Scalar(_) | ValueType::Message(_) | ValueType::AnyMap | ValueType::Any => {
                None
            }
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueType::Scalar(s) => s.fmt(f),
            ValueType::Message(m) => f.write_str(m),
            ValueType::AnyMap => f.write_str(ANY_MAP),
            ValueType::Any => f.write_str(ANY_VALUE),
            ValueType::Timestamp => f.write_str("google.protobuf.Timestamp"),
        }
    }
}

/// A field's type with its label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldType {
    /// No label. A scalar has no presence; a message has (absent is distinct from empty).
    Single(ValueType),
    /// `optional` scalar: presence matters (a Go pointer to a scalar).
    Optional(Scalar),
    Repeated(ValueType),
    Map(Scalar, ValueType),
}

impl FieldType {
    pub fn scalar(s: Scalar) -> FieldType {
        FieldType::Single(ValueType::Scalar(s))
    }

    pub fn message(name: &str) -> FieldType {
        FieldType::Single(ValueType::Message(name.to_string()))
    }

    /// The value type, without the label (a map's value type).
    pub fn value(&self) -> ValueType {
        match self {
            FieldType::Single(v) | FieldType::Repeated(v) | FieldType::Map(_, v) => v.clone(),
            FieldType::Optional(s) => ValueType::Scalar(*s),
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::Single(v) => v.fmt(f),
            FieldType::Optional(s) => write!(f, "optional {s}"),
            FieldType::Repeated(v) => write!(f, "repeated {v}"),
            FieldType::Map(k, v) => write!(f, "map<{k}, {v}>"),
        }
    }
}

/// How an rpc carries its method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcShape {
    /// One request, one response.
    Unary,
    /// A client stream: the first frame carries the arguments, later frames carry chunks of
    /// one byte stream (a Go `io.Reader` parameter).
    Upload {
        /// The request field carrying the chunks (`data_chunk`).
        chunk_field: String,
        /// What languages call the byte-stream parameter (`data`).
        param: String,
    },
    /// A hook answering HTTP: request frames in (context and head first), response frames out
    /// (head first; a frame can ask for a flush).
    ServeHttp,
    /// Plugin-to-plugin HTTP through the host, framed like `ServeHttp` without context or flush.
    PluginHttp,
    /// A file streams in, a replacement streams out, then the outcome.
    FileUpload,
    /// The result is the plugin configuration as JSON bytes in this response field.
    ConfigurationJson { field: String },
}

impl RpcShape {
    /// Frames in and out, for the whole call.
    pub fn is_bidi(&self) -> bool {
        match self {
            RpcShape::ServeHttp | RpcShape::PluginHttp | RpcShape::FileUpload => true,
            RpcShape::Unary | RpcShape::Upload { .. } | RpcShape::ConfigurationJson { .. } => false,
        }
    }
}

/// Where a failed call reports its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorField {
    None,
    /// `app_error`: a `*model.AppError`.
    AppError,
    /// `error`: a Go `error`.
    GoError,
}

impl ErrorField {
    /// The response field's name.
    pub fn field_name(self) -> Option<&'static str> {
        match self {
            ErrorField::None => None,
            ErrorField::AppError => Some("app_error"),
            ErrorField::GoError => Some("error"),
        }
    }

    /// The message type of the field.
    pub fn message(self) -> Option<&'static str> {
        match self {
            ErrorField::None => None,
            ErrorField::AppError => Some("AppError"),
            ErrorField::GoError => Some("Error"),
        }
    }
}

impl From<crate::ir::ErrorKind> for ErrorField {
    fn from(kind: crate::ir::ErrorKind) -> Self {
        match kind {
            crate::ir::ErrorKind::None => ErrorField::None,
            crate::ir::ErrorKind::AppError => ErrorField::AppError,
            crate::ir::ErrorKind::Error => ErrorField::GoError,
        }
    }
}
