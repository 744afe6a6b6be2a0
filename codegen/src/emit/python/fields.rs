//! How one proto field looks from Python: its annotation, its default, and the expressions that
//! convert it from and to its protobuf message. The templates place these expressions; they never
//! decide them.

use std::collections::HashMap;

use crate::emit::EmitError;
use crate::emit::proto::{
    FieldType, FileKind, ProtoField, ProtoFile, ProtoMessage, Scalar, ValueType,
};

const PY_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// The value conversions of `models/_convert.py`, sorted.
pub const CONVERSIONS: [&str; 6] = [
    "any_to_py",
    "anymap_to_dict",
    "datetime_to_timestamp",
    "dict_to_anymap",
    "py_to_any",
    "timestamp_to_datetime",
];

/// How one value of a field converts between proto and Python.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    Scalar(&'static str),
    Model(&'a str),
    /// A Go `map[string]any`: a `dict[str, Any]` in Python.
    AnyMap,
    /// A Go `any`: the plain Python value (`None`, bool, int, float, str, bytes, list, dict).
    Any,
    Timestamp,
}

impl Kind<'_> {
    /// The `_convert` functions a value of this kind goes through (to proto, from proto).
    pub fn conversions(self) -> Option<[&'static str; 2]> {
        match self {
            Kind::Timestamp => Some(["datetime_to_timestamp", "timestamp_to_datetime"]),
            Kind::AnyMap => Some(["dict_to_anymap", "anymap_to_dict"]),
            Kind::Any => Some(["py_to_any", "any_to_py"]),
            Kind::Scalar(_) | Kind::Model(_) => None,
        }
    }
}

pub fn scalar_py(t: Scalar) -> &'static str {
    match t {
        Scalar::String => "str",
        Scalar::Bytes => "bytes",
        Scalar::Bool => "bool",
        Scalar::Int32 | Scalar::Int64 | Scalar::Uint32 | Scalar::Uint64 => "int",
        Scalar::Float | Scalar::Double => "float",
    }
}

pub fn kind(t: &ValueType) -> Kind<'_> {
    match t {
        ValueType::AnyMap => Kind::AnyMap,
        ValueType::Any => Kind::Any,
        ValueType::Timestamp => Kind::Timestamp,
        ValueType::Scalar(s) => Kind::Scalar(scalar_py(*s)),
        ValueType::Message(m) => Kind::Model(m),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Plain,
    Optional,
    Repeated,
    /// A map, with the Python type of its key.
    Map(&'static str),
}

pub fn split(ty: &FieldType) -> (Label, ValueType) {
    match ty {
        FieldType::Single(v) => (Label::Plain, v.clone()),
        FieldType::Optional(s) => (Label::Optional, ValueType::Scalar(*s)),
        FieldType::Repeated(v) => (Label::Repeated, v.clone()),
        FieldType::Map(k, v) => (Label::Map(scalar_py(*k)), v.clone()),
    }
}

/// Python type of one value (model classes as `models.X`).
fn py_type(k: Kind) -> String {
    match k {
        Kind::Scalar(t) => t.to_string(),
        Kind::Model(name) => format!("models.{name}"),
        Kind::AnyMap => "dict[str, Any]".into(),
        Kind::Any => "Any".into(),
        Kind::Timestamp => "datetime.datetime".into(),
    }
}

fn from_value(k: Kind, expr: &str) -> String {
    match k {
        Kind::Scalar(_) => expr.to_string(),
        Kind::Model(name) => format!("models.{name}.from_proto({expr})"),
        Kind::AnyMap => format!("anymap_to_dict({expr})"),
        Kind::Any => format!("any_to_py({expr})"),
        Kind::Timestamp => format!("timestamp_to_datetime({expr})"),
    }
}

fn to_value(k: Kind, expr: &str) -> String {
    match k {
        Kind::Scalar(_) => expr.to_string(),
        Kind::Model(_) => format!("{expr}.to_proto()"),
        Kind::AnyMap => format!("dict_to_anymap({expr})"),
        Kind::Any => format!("py_to_any({expr})"),
        Kind::Timestamp => format!("datetime_to_timestamp({expr})"),
    }
}

/// One field as seen from Python: annotation, default, and both conversions.
pub struct PyField {
    pub name: String,
    pub annotation: String,
    /// A repeated field (a tuple in Python).
    pub repeated: bool,
    pub default: String,
    /// The Python value, read from the message `src` (`m.props` → `struct_to_dict(m.props) if …`).
    pub from_proto: String,
    /// The proto value, from the Python value `dst` + name (`self.props` → `dict_to_struct(…)`).
    pub to_proto: String,
}

/// `name` of type `ty`, read from the message named `src` and written from `dst` + name.
pub fn py_field(name: &str, ty: &FieldType, src: &str, dst: &str) -> PyField {
    let (label, inner) = split(ty);
    let k = kind(&inner);
    let t = py_type(k);
    let get = format!("{src}.{name}");
    let own = format!("{dst}{name}");
    let scalar = matches!(k, Kind::Scalar(_));
    let (annotation, default, from_proto, to_proto) = match label {
        Label::Repeated => (
            format!("tuple[{t}, ...]"),
            "()".into(),
            if scalar {
                format!("tuple({get})")
            } else {
                format!("tuple({} for x in {get})", from_value(k, "x"))
            },
            if scalar {
                format!("list({own})")
            } else {
                format!("[{} for x in {own}]", to_value(k, "x"))
            },
        ),
        Label::Map(key) => (
            format!("dict[{key}, {t}]"),
            "dataclasses.field(default_factory=dict)".into(),
            if scalar {
                format!("dict({get})")
            } else {
                format!("{{k: {} for k, v in {get}.items()}}", from_value(k, "v"))
            },
            if scalar {
                format!("dict({own})")
            } else {
                format!("{{k: {} for k, v in {own}.items()}}", to_value(k, "v"))
            },
        ),
        Label::Optional | Label::Plain if !scalar || label == Label::Optional => (
            if k == Kind::Any {
                "Any".into()
            } else {
                format!("{t} | None")
            },
            "None".into(),
            format!(
                "{} if {src}.HasField({name:?}) else None",
                from_value(k, &get)
            ),
            if scalar {
                own
            } else {
                format!("{} if {own} is not None else None", to_value(k, &own))
            },
        ),
        Label::Optional | Label::Plain => (
            t,
            match k {
                Kind::Scalar("str") => "\"\"".into(),
                Kind::Scalar("bytes") => "b\"\"".into(),
                Kind::Scalar("bool") => "False".into(),
                Kind::Scalar("float") => "0.0".into(),
                _ => "0".into(),
            },
            get,
            own,
        ),
    };
    PyField {
        name: name.into(),
        annotation,
        repeated: label == Label::Repeated,
        default,
        from_proto,
        to_proto,
    }
}

/// An argument or result of an rpc: like [`py_field`], except that a message the Go side always
/// sets (`ProtoField::required`) is typed without `None`, and a response or request missing it
/// raises `errors.ContractError` naming the method and the field instead of passing on `None`.
pub fn rpc_field(f: &ProtoField, src: &str, dst: &str, method: &str) -> PyField {
    let mut field = py_field(&f.name, &f.ty, src, dst);
    if let (true, FieldType::Single(v)) = (f.required, &f.ty) {
        let k = kind(v);
        if matches!(k, Kind::Model(_) | Kind::Timestamp) {
            let name = &f.name;
            field.annotation = py_type(k);
            field.from_proto =
                from_value(k, &format!("errors.required({src}, {name:?}, {method:?})"));
            field.to_proto = to_value(k, &format!("{dst}{name}"));
        }
    }
    field
}

/// The Python type of one value of a field (the item of a repeated field).
pub fn item_annotation(ty: &FieldType) -> String {
    py_type(kind(&ty.value()))
}

/// What a function returns for these results: `None`, the one annotation, or a tuple.
pub fn returns(results: &[PyField]) -> String {
    match results {
        [] => "None".to_string(),
        [one] => one.annotation.clone(),
        many => format!(
            "tuple[{}]",
            many.iter()
                .map(|r| r.annotation.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn check_names<'a>(
    messages: impl IntoIterator<Item = &'a ProtoMessage>,
) -> Result<(), EmitError> {
    let bad: Vec<String> = messages
        .into_iter()
        .flat_map(|m| {
            m.fields
                .iter()
                .filter(|f| PY_KEYWORDS.contains(&f.name.as_str()))
                .map(move |f| format!("{}.{}", m.name, f.name))
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(EmitError {
            messages: vec![format!(
                "python emitter: fields named after Python keywords are not supported yet: {}",
                bad.join(", ")
            )],
        })
    }
}

/// The `_pb` module of one proto file (`model_pb2`).
pub fn pb2_module(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Common => "common_pb2",
        FileKind::Model => "model_pb2",
        FileKind::Api => "api_pb2",
        FileKind::Hooks => "hooks_pb2",
    }
}

/// Which `_pb2` module defines each message.
pub fn module_of(schema: &[ProtoFile]) -> HashMap<&str, &'static str> {
    let mut map = HashMap::new();
    for f in schema {
        for m in &f.messages {
            map.insert(m.name.as_str(), pb2_module(f.kind));
        }
    }
    map
}
