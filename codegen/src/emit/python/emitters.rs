//! The Python modules' bodies, written from the proto schema and the IR.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::emit::EmitError;
use crate::emit::proto::{
    ErrorField, FieldType, FileKind, ProtoFile, ProtoMessage, ProtoRpc, RpcShape, Scalar, ValueType,
};
use crate::ir::{ErrorKind, Ir, Method};

const PY_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// How one value of a field converts between proto and Python.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    Scalar(&'static str),
    Model(&'a str),
    Struct,
    Value,
    Timestamp,
}

fn scalar_py(t: Scalar) -> &'static str {
    match t {
        Scalar::String => "str",
        Scalar::Bytes => "bytes",
        Scalar::Bool => "bool",
        Scalar::Int32 | Scalar::Int64 | Scalar::Uint32 | Scalar::Uint64 => "int",
        Scalar::Float | Scalar::Double => "float",
    }
}

fn kind(t: &ValueType) -> Kind<'_> {
    match t {
        ValueType::Struct => Kind::Struct,
        ValueType::Value => Kind::Value,
        ValueType::Timestamp => Kind::Timestamp,
        ValueType::Scalar(s) => Kind::Scalar(scalar_py(*s)),
        ValueType::Message(m) => Kind::Model(m),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Plain,
    Optional,
    Repeated,
    Map(&'static str),
}

fn split(ty: &FieldType) -> (Label, ValueType) {
    match ty {
        FieldType::Single(v) => (Label::Plain, v.clone()),
        FieldType::Optional(s) => (Label::Optional, ValueType::Scalar(*s)),
        FieldType::Repeated(v) => (Label::Repeated, v.clone()),
        FieldType::Map(k, v) => (Label::Map(scalar_py(*k)), v.clone()),
    }
}

/// Python type of one value; `m` prefixes model class names (`""` inside models.py).
fn py_type(k: Kind, m: &str) -> String {
    match k {
        Kind::Scalar(t) => t.to_string(),
        Kind::Model(name) => format!("{m}{name}"),
        Kind::Struct => "dict[str, Any]".into(),
        Kind::Value => "Any".into(),
        Kind::Timestamp => "datetime.datetime".into(),
    }
}

fn from_value(k: Kind, expr: &str, m: &str, c: &str) -> String {
    match k {
        Kind::Scalar(_) => expr.to_string(),
        Kind::Model(name) => format!("{m}{name}.from_proto({expr})"),
        Kind::Struct => format!("{c}struct_to_dict({expr})"),
        Kind::Value => format!("{c}value_to_py({expr})"),
        Kind::Timestamp => format!("{c}timestamp_to_datetime({expr})"),
    }
}

fn to_value(k: Kind, expr: &str, c: &str) -> String {
    match k {
        Kind::Scalar(_) => expr.to_string(),
        Kind::Model(_) => format!("{expr}.to_proto()"),
        Kind::Struct => format!("{c}dict_to_struct({expr})"),
        Kind::Value => format!("{c}py_to_value({expr})"),
        Kind::Timestamp => format!("{c}datetime_to_timestamp({expr})"),
    }
}

/// One field as seen from Python: annotation, default, and both conversions.
struct PyField {
    name: String,
    annotation: String,
    default: String,
    from_proto: String,
    to_proto: String,
}

fn py_field(name: &str, ty: &FieldType, m: &str, c: &str, src: &str, dst: &str) -> PyField {
    let (label, inner) = split(ty);
    let k = kind(&inner);
    let t = py_type(k, m);
    let get = format!("{src}.{name}");
    let own = format!("{dst}{name}");
    match label {
        Label::Repeated => PyField {
            name: name.into(),
            annotation: format!("tuple[{t}, ...]"),
            default: "()".into(),
            from_proto: if matches!(k, Kind::Scalar(_)) {
                format!("tuple({get})")
            } else {
                format!("tuple({} for x in {get})", from_value(k, "x", m, c))
            },
            to_proto: if matches!(k, Kind::Scalar(_)) {
                format!("list({own})")
            } else {
                format!("[{} for x in {own}]", to_value(k, "x", c))
            },
        },
        Label::Map(key) => PyField {
            name: name.into(),
            annotation: format!("dict[{key}, {t}]"),
            default: "dataclasses.field(default_factory=dict)".into(),
            from_proto: if matches!(k, Kind::Scalar(_)) {
                format!("dict({get})")
            } else {
                format!(
                    "{{k: {} for k, v in {get}.items()}}",
                    from_value(k, "v", m, c)
                )
            },
            to_proto: if matches!(k, Kind::Scalar(_)) {
                format!("dict({own})")
            } else {
                format!("{{k: {} for k, v in {own}.items()}}", to_value(k, "v", c))
            },
        },
        Label::Optional | Label::Plain
            if !matches!(k, Kind::Scalar(_)) || label == Label::Optional =>
        {
            PyField {
                name: name.into(),
                annotation: if k == Kind::Value {
                    "Any".into()
                } else {
                    format!("{t} | None")
                },
                default: "None".into(),
                from_proto: format!(
                    "{} if {src}.HasField({name:?}) else None",
                    from_value(k, &get, m, c)
                ),
                to_proto: if matches!(k, Kind::Scalar(_)) {
                    own
                } else {
                    format!("{} if {own} is not None else None", to_value(k, &own, c))
                },
            }
        }
        _ => PyField {
            name: name.into(),
            annotation: t.clone(),
            default: match k {
                Kind::Scalar("str") => "\"\"".into(),
                Kind::Scalar("bytes") => "b\"\"".into(),
                Kind::Scalar("bool") => "False".into(),
                Kind::Scalar("float") => "0.0".into(),
                _ => "0".into(),
            },
            from_proto: get,
            to_proto: own,
        },
    }
}

fn check_names(messages: &[&ProtoMessage]) -> Result<(), EmitError> {
    let bad: Vec<String> = messages
        .iter()
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

/// Which `_pb2` module defines each message.
fn module_of(schema: &[ProtoFile]) -> HashMap<&str, &'static str> {
    let mut map = HashMap::new();
    for f in schema {
        let stem = match f.kind {
            FileKind::Common => "common_pb2",
            FileKind::Model => "model_pb2",
            FileKind::Api => "api_pb2",
            FileKind::Hooks => "hooks_pb2",
        };
        for m in &f.messages {
            map.insert(m.name.as_str(), stem);
        }
    }
    map
}

fn bytes_literal(bytes: &[u8]) -> String {
    let mut out = String::from("\n");
    for chunk in bytes.chunks(24) {
        out.push_str("    b\"");
        for &b in chunk {
            match b {
                b'\\' => out.push_str("\\\\"),
                b'"' => out.push_str("\\\""),
                0x20..=0x7e => out.push(char::from(b)),
                _ => {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
        }
        out.push_str("\"\n");
    }
    out
}

fn deps(kind: FileKind) -> &'static [&'static str] {
    match kind {
        FileKind::Common => &[],
        FileKind::Model => &["common_pb2"],
        FileKind::Api | FileKind::Hooks => &["common_pb2", "model_pb2"],
    }
}

pub fn pb2_module(stem: &str, descriptor: &[u8], file: &ProtoFile) -> String {
    let mut s = format!("\"\"\"Protobuf messages of mattermost/plugin/v1/{stem}.proto.\"\"\"\n\n");
    s.push_str("from google.protobuf import descriptor_pool as _descriptor_pool\n");
    s.push_str("from google.protobuf import struct_pb2 as _struct_pb2  # noqa: F401  (registers struct.proto)\n");
    s.push_str("from google.protobuf import timestamp_pb2 as _timestamp_pb2  # noqa: F401  (registers timestamp.proto)\n");
    s.push_str("from google.protobuf.internal import builder as _builder\n");
    if !deps(file.kind).is_empty() {
        s.push('\n');
    }
    for d in deps(file.kind) {
        let _ = writeln!(
            s,
            "from mattermost_plugin_api._pb import {d} as _{d}  # noqa: F401  (imported by this file)"
        );
    }
    let _ = write!(
        s,
        "\nDESCRIPTOR = _descriptor_pool.Default().AddSerializedFile({})\n_globals = globals()\n_builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, _globals)\n_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, \"mattermost_plugin_api._pb.{stem}_pb2\", _globals)\n",
        bytes_literal(descriptor).trim_end().replace('\n', "\n    ") + "\n"
    );
    s
}

/// `.pyi` stubs: attribute and constructor types of every message.
pub fn pb2_stub(file: &ProtoFile) -> String {
    let mut s = String::new();
    s.push_str("DESCRIPTOR: _descriptor.FileDescriptor\n");
    let own: std::collections::HashSet<&str> =
        file.messages.iter().map(|m| m.name.as_str()).collect();
    let msg_ref = |ty: &ValueType| -> String {
        match ty {
            ValueType::Struct => "_struct_pb2.Struct".into(),
            ValueType::Value => "_struct_pb2.Value".into(),
            ValueType::Timestamp => "_timestamp_pb2.Timestamp".into(),
            ValueType::Scalar(s) => scalar_py(*s).into(),
            ValueType::Message(n) if own.contains(n.as_str()) => n.to_string(),
            ValueType::Message(n) => {
                // Messages of another file of ours.
                let module = match file.kind {
                    FileKind::Model => "_common_pb2",
                    _ => {
                        if COMMON_NAMES.contains(&n.as_str()) {
                            "_common_pb2"
                        } else {
                            "_model_pb2"
                        }
                    }
                };
                format!("{module}.{n}")
            }
        }
    };
    for m in &file.messages {
        let _ = write!(s, "\n\nclass {}(_message.Message):\n", m.name);
        let mut params = Vec::new();
        for f in &m.fields {
            let (label, inner) = split(&f.ty);
            let scalar = matches!(inner, ValueType::Scalar(_)).then_some(());
            let value_ty = msg_ref(&inner);
            let (attr, param) = match label {
                Label::Repeated if scalar.is_some() => (
                    format!("_containers.RepeatedScalarFieldContainer[{value_ty}]"),
                    format!("Iterable[{value_ty}] | None"),
                ),
                Label::Repeated => (
                    format!("_containers.RepeatedCompositeFieldContainer[{value_ty}]"),
                    format!("Iterable[{value_ty}] | None"),
                ),
                Label::Map(k) if scalar.is_some() => (
                    format!("_containers.ScalarMap[{k}, {value_ty}]"),
                    format!("Mapping[{k}, {value_ty}] | None"),
                ),
                Label::Map(k) => (
                    format!("_containers.MessageMap[{k}, {value_ty}]"),
                    format!("Mapping[{k}, {value_ty}] | None"),
                ),
                _ => (value_ty.clone(), format!("{value_ty} | None")),
            };
            let _ = writeln!(s, "    {}: {attr}", f.name);
            params.push(format!("{}: {param} = ...", f.name));
        }
        if params.is_empty() {
            s.push_str("    def __init__(self) -> None: ...\n");
        } else {
            let _ = writeln!(
                s,
                "    def __init__(\n        self,\n        *,\n        {},\n    ) -> None: ...",
                params.join(",\n        ")
            );
        }
    }
    // Only the imports the stubs use, grouped as isort does.
    let mut third = vec![
        "from google.protobuf import descriptor as _descriptor",
        "from google.protobuf import message as _message",
    ];
    let mut std = Vec::new();
    let uses = |needle: &str| s.contains(needle);
    match (uses("Iterable["), uses("Mapping[")) {
        (true, true) => std.push("from collections.abc import Iterable, Mapping"),
        (true, false) => std.push("from collections.abc import Iterable"),
        (false, true) => std.push("from collections.abc import Mapping"),
        (false, false) => {}
    }
    if uses("_struct_pb2.") {
        third.push("from google.protobuf import struct_pb2 as _struct_pb2");
    }
    if uses("_timestamp_pb2.") {
        third.push("from google.protobuf import timestamp_pb2 as _timestamp_pb2");
    }
    if uses("_containers.") {
        third.push("from google.protobuf.internal import containers as _containers");
    }
    let mut first = Vec::new();
    for d in deps(file.kind) {
        if uses(&format!("_{d}.")) {
            first.push(format!("from mattermost_plugin_api._pb import {d} as _{d}"));
        }
    }
    let mut header = String::new();
    for group in [
        std.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        third.iter().map(|x| x.to_string()).collect(),
        first,
    ] {
        if !group.is_empty() {
            header.push_str(&group.join("\n"));
            header.push_str("\n\n");
        }
    }
    header + &s
}

/// Messages that live in common.proto (the static ones and the overrides).
const COMMON_NAMES: &[&str] = &[
    "Error",
    "HttpHeader",
    "HttpRequestHead",
    "HttpResponseHead",
    "AppError",
    "PluginContext",
];

/// `models/_convert.py`: the value conversions shared by models, client and hooks.
/// `json_format` is imported on first use: it is slow to import and most plugins never need it.
const CONVERT: &str = r#""""Conversions between protobuf well-known types and plain Python values."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2


def struct_to_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    """A protobuf Struct as a plain dict (JSON values)."""
    from google.protobuf import json_format

    return json_format.MessageToDict(value)


def dict_to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def value_to_py(value: struct_pb2.Value) -> Any:
    """A protobuf Value as the plain JSON value it holds."""
    from google.protobuf import json_format

    return json_format.MessageToDict(value)


def py_to_value(value: Any) -> struct_pb2.Value:
    from google.protobuf import json_format

    return json_format.ParseDict(value, struct_pb2.Value())


def timestamp_to_datetime(value: timestamp_pb2.Timestamp) -> datetime.datetime:
    return value.ToDatetime(tzinfo=datetime.timezone.utc)


def datetime_to_timestamp(value: datetime.datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out
"#;

const CONVERSIONS: [&str; 6] = [
    "datetime_to_timestamp",
    "dict_to_struct",
    "py_to_value",
    "struct_to_dict",
    "timestamp_to_datetime",
    "value_to_py",
];

/// A client method's docstring: facts only — the whole Go signature, the minimum server
/// version, and what a failure raises.
fn python_doc(m: &Method) -> String {
    let mut doc = format!("Go: {}", m.go_signature());
    if let Some(v) = &m.min_server_version {
        doc.push_str(&format!("\n\n        Minimum server version: {v}."));
    }
    let raises: &[&str] = match m.error {
        ErrorKind::AppError => &[
            "PluginAPIError (by status: BadRequestError, NotFoundError, ...): the server's AppError.",
        ],
        ErrorKind::Error => &["GoError: the server's error."],
        ErrorKind::None => &[],
    };
    doc.push_str("\n\n        Raises:");
    for line in raises
        .iter()
        .chain(&["TransportError: the host could not be reached."])
    {
        doc.push_str(&format!("\n            {line}"));
    }
    doc
}

/// The module (under `models/`) that defines one model class: `_` + its snake_case name.
fn model_module(name: &str) -> String {
    format!("_{}", crate::naming::snake(name))
}

/// The `models` package: one module per class, loaded on first attribute access, so importing
/// the package (and every plugin's cold start) does not pay for ~200 dataclass definitions.
/// Returns (path under `models/`, body) pairs.
pub fn models(
    schema: &[ProtoFile],
    messages: &[&ProtoMessage],
) -> Result<Vec<(String, String)>, EmitError> {
    let modules = module_of(schema);
    let mut seen: HashMap<String, &str> = HashMap::new();
    for m in messages {
        if let Some(other) = seen.insert(model_module(&m.name), &m.name) {
            return Err(EmitError {
                messages: vec![format!(
                    "python emitter: messages {other} and {} would share the module {}",
                    m.name,
                    model_module(&m.name)
                )],
            });
        }
    }
    let mut files = vec![("_convert.py".to_string(), CONVERT.to_string())];
    for m in messages {
        files.push((
            format!("{}.py", model_module(&m.name)),
            model_class(
                m,
                modules.get(m.name.as_str()).copied().unwrap_or("model_pb2"),
            ),
        ));
    }
    files.push(("__init__.py".to_string(), models_init(messages)));
    Ok(files)
}

fn model_class(m: &ProtoMessage, module: &str) -> String {
    let fields: Vec<PyField> = m
        .fields
        .iter()
        .map(|f| py_field(&f.name, &f.ty, "models.", "", "m", "self."))
        .collect();
    let values: Vec<ValueType> = m.fields.iter().map(|f| f.ty.value()).collect();
    let kinds: Vec<Kind> = values.iter().map(kind).collect();
    let uses = |k: Kind| kinds.contains(&k);
    let mut s = String::from("from __future__ import annotations\n\nimport dataclasses\n");
    if uses(Kind::Timestamp) {
        s.push_str("import datetime\n");
    }
    if uses(Kind::Struct) || uses(Kind::Value) {
        s.push_str("from typing import Any\n");
    }
    s.push('\n');
    if kinds.iter().any(|k| matches!(k, Kind::Model(_))) {
        s.push_str("from mattermost_plugin_api import models\n");
    }
    let _ = writeln!(s, "from mattermost_plugin_api._pb import {module}");
    let conversions: Vec<&str> = [
        (
            Kind::Timestamp,
            ["datetime_to_timestamp", "timestamp_to_datetime"],
        ),
        (Kind::Struct, ["dict_to_struct", "struct_to_dict"]),
        (Kind::Value, ["py_to_value", "value_to_py"]),
    ]
    .into_iter()
    .filter(|(k, _)| uses(*k))
    .flat_map(|(_, names)| names)
    .collect();
    if !conversions.is_empty() {
        let mut sorted = conversions;
        sorted.sort_unstable();
        let _ = writeln!(
            s,
            "from mattermost_plugin_api.models._convert import {}",
            sorted.join(", ")
        );
    }
    let doc = m
        .comments
        .first()
        .cloned()
        .unwrap_or_default()
        .replace('"', "'");
    let _ = write!(
        s,
        "\n\n@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)\nclass {}:\n    \"\"\"{}\"\"\"\n\n",
        m.name, doc
    );
    for f in &fields {
        let _ = writeln!(s, "    {}: {} = {}", f.name, f.annotation, f.default);
    }
    let _ = write!(
        s,
        "\n    @classmethod\n    def from_proto(cls, m: {module}.{}) -> {}:\n",
        m.name, m.name
    );
    if fields.is_empty() {
        s.push_str("        return cls()\n");
    } else {
        // Every field is set straight through its slot: a frozen dataclass's __init__ goes through
        // object.__setattr__ by name, which costs about three times as much per conversion.
        s.push_str("        o = object.__new__(cls)\n");
        for f in &fields {
            let _ = writeln!(s, "        _set_{}(o, {})", f.name, f.from_proto);
        }
        s.push_str("        return o\n");
    }
    let _ = write!(s, "\n    def to_proto(self) -> {module}.{}:\n", m.name);
    if fields.is_empty() {
        let _ = writeln!(s, "        return {module}.{}()", m.name);
    } else {
        let _ = writeln!(s, "        return {module}.{}(", m.name);
        for f in &fields {
            let _ = writeln!(s, "            {}={},", f.name, f.to_proto);
        }
        s.push_str("        )\n");
    }
    if !fields.is_empty() {
        s.push_str("\n\n");
        for f in &fields {
            let _ = writeln!(
                s,
                "_set_{} = {}.__dict__[{:?}].__set__",
                f.name, m.name, f.name
            );
        }
    }
    s
}

fn models_init(messages: &[&ProtoMessage]) -> String {
    let mut s = String::from(
        "\"\"\"Frozen dataclasses for every model message, with lossless proto conversion.\n\nTimestamps convert to timezone-aware datetimes (microsecond precision). Each class is defined in\nits own module, imported the first time it is used.\n\"\"\"\n\n",
    );
    s.push_str("from __future__ import annotations\n\nimport importlib\nfrom typing import TYPE_CHECKING, Any\n\n");
    let _ = writeln!(
        s,
        "from mattermost_plugin_api.models._convert import (\n{})\n",
        CONVERSIONS
            .iter()
            .map(|c| format!("    {c},\n"))
            .collect::<String>()
    );
    s.push_str("if TYPE_CHECKING:\n");
    let mut sorted: Vec<&&ProtoMessage> = messages.iter().collect();
    sorted.sort_by_key(|m| model_module(&m.name));
    for m in &sorted {
        let (module, name) = (model_module(&m.name), &m.name);
        let line =
            format!("    from mattermost_plugin_api.models.{module} import {name} as {name}");
        // Wrapped the way ruff formats imports longer than the line limit.
        if line.len() > 120 {
            let _ = writeln!(
                s,
                "    from mattermost_plugin_api.models.{module} import (\n        {name} as {name},\n    )"
            );
        } else {
            let _ = writeln!(s, "{line}");
        }
    }
    s.push_str("\n    MODELS: tuple[type[Any], ...]\n    \"\"\"Every model class, in contract order.\"\"\"\n\n");
    s.push_str("# Class name -> its module, in contract order.\n_MODULES: dict[str, str] = {\n");
    for m in messages {
        let _ = writeln!(s, "    {:?}: {:?},", m.name, model_module(&m.name));
    }
    s.push_str("}\n\n");
    s.push_str(
        r#"if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name == "MODELS":
            value = tuple(__getattr__(n) for n in _MODULES)
        elif name in _MODULES:
            value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES, "MODELS"})


"#,
    );
    // Sorted as ruff sorts `__all__`: the constant first, then classes, then functions.
    let mut all: Vec<&str> = messages.iter().map(|m| m.name.as_str()).collect();
    all.extend(CONVERSIONS);
    all.sort_unstable();
    all.insert(0, "MODELS");
    let _ = write!(
        s,
        "__all__ = [\n{}]\n",
        all.iter()
            .map(|n| format!("    {n:?},\n"))
            .collect::<String>()
    );
    s
}

pub const ERRORS: &str = r#""""Exceptions raised by the API clients.

Business errors arrive in the response: a Mattermost `*model.AppError` becomes a subclass of
`PluginAPIError` chosen by its status code; a plain Go `error` becomes `GoError` with Mattermost's
net/rpc code. Transport failures (the host went away, a timeout) become `TransportError`.
"""

from __future__ import annotations

from typing import Any

from mattermost_plugin_api._pb import common_pb2
from mattermost_plugin_api.models._convert import struct_to_dict


class PluginAPIError(Exception):
    """A failed API call."""

    def __init__(
        self,
        method: str,
        message: str,
        *,
        id: str = "",
        detailed_error: str = "",
        status_code: int = 0,
        request_id: str = "",
        where: str = "",
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{method}: {message}" + (f" ({status_code})" if status_code else ""))
        self.method = method
        self.message = message
        self.id = id
        self.detailed_error = detailed_error
        self.status_code = status_code
        self.request_id = request_id
        self.where = where
        self.params = params or {}


class BadRequestError(PluginAPIError):
    """400."""


class UnauthorizedError(PluginAPIError):
    """401."""


class PermissionDeniedError(PluginAPIError):
    """403."""


class NotFoundError(PluginAPIError):
    """404."""


class ConflictError(PluginAPIError):
    """409."""


class TooManyRequestsError(PluginAPIError):
    """429."""


class ServerError(PluginAPIError):
    """5xx."""


class NotImplementedByServerError(ServerError):
    """501: the server (or dev host) does not implement this method."""


class GoError(PluginAPIError):
    """A plain Go `error`; `code` is Mattermost's net/rpc error code (1 io.EOF, 2 sql.ErrNoRows, …)."""

    def __init__(self, method: str, message: str, *, code: int = 0) -> None:
        super().__init__(method, message)
        self.code = code


class TransportError(PluginAPIError):
    """The call did not complete: the connection failed, timed out or was refused."""

    def __init__(self, method: str, message: str, *, grpc_code: str = "") -> None:
        super().__init__(method, message)
        self.grpc_code = grpc_code


_BY_STATUS: dict[int, type[PluginAPIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: TooManyRequestsError,
    501: NotImplementedByServerError,
}


def from_app_error(method: str, error: common_pb2.AppError) -> PluginAPIError:
    """The exception for an AppError from `method`."""
    status = int(error.status_code)
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else PluginAPIError)
    return cls(
        method,
        error.message,
        id=error.id,
        detailed_error=error.detailed_error,
        status_code=status,
        request_id=error.request_id,
        where=error.where,
        params=struct_to_dict(error.params) if error.HasField("params") else None,
    )


def from_go_error(method: str, error: common_pb2.Error) -> GoError:
    return GoError(method, error.message, code=int(error.code))
"#;

pub fn client(schema: &[ProtoFile]) -> Result<String, EmitError> {
    let messages: HashMap<&str, &ProtoMessage> = schema
        .iter()
        .flat_map(|f| &f.messages)
        .map(|m| (m.name.as_str(), m))
        .collect();
    let all: Vec<&ProtoMessage> = messages.values().copied().collect();
    check_names(&all)?;
    let Some(api) = crate::emit::proto::rpcs(schema, crate::ir::ServiceKind::Api) else {
        return Err(EmitError {
            messages: vec!["python emitter: the contract has no API service".into()],
        });
    };
    let mut s = String::from(
        "\"\"\"`PluginAPI`: the server's API for a plugin, one method per Go method.\"\"\"\n\n",
    );
    s.push_str("from __future__ import annotations\n\nfrom collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence\nfrom typing import Any, TypeVar, cast\n\nimport grpc\nfrom google.protobuf import message as _message\n\n");
    s.push_str("from mattermost_plugin_api import errors, models\nfrom mattermost_plugin_api._pb import api_pb2\nfrom mattermost_plugin_api.models import (\n    datetime_to_timestamp,\n    dict_to_struct,\n    py_to_value,\n    struct_to_dict,\n    timestamp_to_datetime,\n    value_to_py,\n)\n\n");
    s.push_str(r#"__all__ = ["MAX_CHUNK", "TOKEN_METADATA", "AsyncPluginAPI", "PluginAPI"]

TOKEN_METADATA = "mm-plugin-token"
"""The metadata key carrying the plugin's token on every call."""

MAX_CHUNK = 64 * 1024
"""Streams are cut into chunks of at most this many bytes."""

_SERVICE = "/mattermost.plugin.v1.PluginAPI/"
_R = TypeVar("_R", bound=_message.Message)

# Keep the helpers referenced: not every contract uses every conversion.
_CONVERSIONS = (datetime_to_timestamp, dict_to_struct, py_to_value, struct_to_dict, timestamp_to_datetime, value_to_py)


def channel_options() -> list[tuple[str, Any]]:
    """gRPC options for the host's socket: grpcio sends the socket path as :authority, which the
    host's HTTP/2 stack rejects, so name a plain authority; and lift the message size limits."""
    return [
        ("grpc.default_authority", "localhost"),
        ("grpc.max_receive_message_length", -1),
        ("grpc.max_send_message_length", -1),
    ]


def _transport_error(method: str, error: grpc.RpcError) -> errors.TransportError:
    """A failed call as `TransportError`; status details when grpc gives them (a `grpc.Call`)."""
    details = getattr(error, "details", None)
    code = getattr(error, "code", None)
    return errors.TransportError(
        method, str(details() if callable(details) else error), grpc_code=str(code() if callable(code) else "")
    )


def _chunks(data: Iterable[bytes]) -> Iterator[bytes]:
    for piece in data:
        for start in range(0, len(piece), MAX_CHUNK):
            yield piece[start : start + MAX_CHUNK]


class PluginAPI:
    """Synchronous client of the host's `PluginAPI` service.

    `target` is what the host passes in `MM_PLUGIN_API_ADDR` (`unix:///path` or `host:port`).
    """

    def __init__(self, target: str, token: str, *, channel: grpc.Channel | None = None) -> None:
        self._channel = channel if channel is not None else grpc.insecure_channel(target, options=channel_options())
        self._metadata = ((TOKEN_METADATA, token),)
        self._stubs: dict[str, Any] = {}

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: str, request: _message.Message, response_type: type[_R]) -> _R:
        stub = self._stubs.get(method)
        if stub is None:
            stub = self._channel.unary_unary(
                _SERVICE + method,
                request_serializer=type(request).SerializeToString,
                response_deserializer=response_type.FromString,
            )
            self._stubs[method] = stub
        try:
            response: _R = stub(request, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _transport_error(method, e) from e
        return response

    def _call_stream(self, method: str, requests: Iterator[_message.Message], request_type: type[_message.Message], response_type: type[_R]) -> _R:
        stub = self._stubs.get(method)
        if stub is None:
            stub = self._channel.stream_unary(
                _SERVICE + method,
                request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString,
            )
            self._stubs[method] = stub
        try:
            response: _R = stub(requests, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _transport_error(method, e) from e
        return response

    def _call_bidi(self, method: str, requests: Iterator[_message.Message], request_type: type[_message.Message], response_type: type[_R]) -> Iterator[_R]:
        stub = self._channel.stream_stream(
            _SERVICE + method,
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        responses: Iterator[_R] = stub(requests, metadata=self._metadata)
        return responses
"#);
    let mut methods = String::new();
    for rpc in api {
        let m = &rpc.method;
        let (req_name, resp_name) = (&rpc.request, &rpc.response);
        let py_name = crate::naming::snake(&m.name);
        let doc = python_doc(m);
        let results: Vec<PyField> = rpc
            .results
            .iter()
            .map(|f| py_field(&f.name, &f.ty, "models.", "", "response", ""))
            .collect();
        let ret = match results.as_slice() {
            [] => "None".to_string(),
            [one] => one.annotation.clone(),
            many => format!(
                "tuple[{}]",
                many.iter()
                    .map(|r| r.annotation.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let check = error_check(rpc);
        let value = match results.as_slice() {
            [] => String::new(),
            [one] => format!("        return {}\n", one.from_proto),
            many => format!(
                "        return (\n{}        )\n",
                many.iter()
                    .map(|r| format!("            {},\n", r.from_proto))
                    .collect::<String>()
            ),
        };
        match &rpc.shape {
            RpcShape::ServeHttp | RpcShape::FileUpload => {
                return Err(EmitError {
                    messages: vec![format!(
                        "python emitter: {}: a hook's stream shape in the API service",
                        m.name
                    )],
                });
            }
            RpcShape::PluginHttp => {
                let _ = write!(
                    methods,
                    "\n    def {py_name}(self, *, frames: Iterable[api_pb2.{req_name}]) -> Iterator[api_pb2.{resp_name}]:\n        \"\"\"{doc}\n\n        Plugin-to-plugin HTTP: request head and body frames in, response frames out.\n        \"\"\"\n        return self._call_bidi({:?}, iter(frames), api_pb2.{req_name}, api_pb2.{resp_name})\n",
                    m.name
                );
            }
            RpcShape::Upload {
                chunk_field: chunk,
                param: data,
            } => {
                let args: Vec<PyField> = rpc
                    .args
                    .iter()
                    .map(|f| py_field(&f.name, &f.ty, "models.", "", "", ""))
                    .collect();
                let mut params: Vec<String> = args
                    .iter()
                    .map(|a| format!("{}: {}", a.name, a.annotation))
                    .collect();
                params.push(format!("{data}: Iterable[bytes]"));
                let first = args
                    .iter()
                    .map(|a| format!("{}={}", a.name, a.to_proto))
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = write!(
                    methods,
                    "\n    def {py_name}(self, *, {}) -> {ret}:\n        \"\"\"{doc}\n\n        `{data}` streams to the host in chunks of at most 64 KiB.\n        \"\"\"\n\n        def frames() -> Iterator[api_pb2.{req_name}]:\n            yield api_pb2.{req_name}({first})\n            for piece in _chunks({data}):\n                yield api_pb2.{req_name}({chunk}=piece)\n\n        response = self._call_stream({:?}, frames(), api_pb2.{req_name}, api_pb2.{resp_name})\n{check}{value}",
                    params.join(", "),
                    m.name
                );
            }
            RpcShape::Unary | RpcShape::ConfigurationJson { .. } => {
                let args: Vec<PyField> = rpc
                    .args
                    .iter()
                    .map(|f| py_field(&f.name, &f.ty, "models.", "", "", ""))
                    .collect();
                let params = if args.is_empty() {
                    String::new()
                } else {
                    let ps: Vec<String> = args
                        .iter()
                        .map(|a| {
                            let annotation = if a.annotation.starts_with("tuple[") {
                                a.annotation
                                    .replacen("tuple[", "Sequence[", 1)
                                    .replace(", ...]", "]")
                            } else {
                                a.annotation.clone()
                            };
                            let default = if a.annotation.starts_with("tuple[") {
                                " = ()"
                            } else {
                                ""
                            };
                            format!("{}: {annotation}{default}", a.name)
                        })
                        .collect();
                    format!(", *, {}", ps.join(", "))
                };
                let build = args
                    .iter()
                    .map(|a| format!("{}={}", a.name, a.to_proto))
                    .collect::<Vec<_>>()
                    .join(", ");
                let assign = if check.is_empty() && value.is_empty() {
                    ""
                } else {
                    "response = "
                };
                let _ = write!(
                    methods,
                    "\n    def {py_name}(self{params}) -> {ret}:\n        \"\"\"{doc}\"\"\"\n        {assign}self._call({:?}, api_pb2.{req_name}({build}), api_pb2.{resp_name})\n{check}{value}",
                    m.name
                );
            }
        }
    }
    s.push_str(&methods);
    s.push_str(ASYNC_CLIENT);
    s.push_str(&asyncify(&methods));
    Ok(s)
}

/// Raises the response's error, if the method has an error field.
fn error_check(rpc: &ProtoRpc) -> String {
    let convert = match rpc.error {
        ErrorField::None => return String::new(),
        ErrorField::AppError => "from_app_error",
        ErrorField::GoError => "from_go_error",
    };
    let field = rpc.error.field_name().unwrap_or_default();
    format!(
        "        if response.HasField({field:?}):\n            raise errors.{convert}({:?}, response.{field})\n",
        rpc.name
    )
}

/// The asyncio twin of the synchronous methods: the same bodies, awaited.
fn asyncify(methods: &str) -> String {
    methods
        .replace("\n    def ", "\n    async def ")
        .replace("response = self._call(", "response = await self._call(")
        .replace("        self._call(", "        await self._call(")
        .replace(
            "response = self._call_stream(",
            "response = await self._call_stream(",
        )
        .replace(
            "        def frames() -> Iterator[",
            "        async def frames() -> AsyncIterator[",
        )
        .replace(
            "            for piece in _chunks(",
            "            async for piece in _achunks(",
        )
        .replace(
            ": Iterable[bytes])",
            ": Iterable[bytes] | AsyncIterable[bytes])",
        )
        .replace(
            "frames: Iterable[api_pb2.",
            "frames: AsyncIterator[api_pb2.",
        )
        .replace(") -> Iterator[api_pb2.", ") -> AsyncIterator[api_pb2.")
        .replace(", iter(frames), ", ", frames, ")
}

const ASYNC_CLIENT: &str = r#"

async def _achunks(data: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if isinstance(data, AsyncIterable):
        async for piece in data:
            for start in range(0, len(piece), MAX_CHUNK):
                yield piece[start : start + MAX_CHUNK]
    else:
        for chunk in _chunks(data):
            yield chunk


class AsyncPluginAPI:
    """asyncio client of the host's `PluginAPI` service: the methods of `PluginAPI`, awaited."""

    def __init__(self, target: str, token: str, *, channel: grpc.aio.Channel | None = None) -> None:
        self._channel = channel if channel is not None else grpc.aio.insecure_channel(target, options=channel_options())
        self._metadata = ((TOKEN_METADATA, token),)
        self._stubs: dict[str, Any] = {}

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method: str, request: _message.Message, response_type: type[_R]) -> _R:
        stub = self._stubs.get(method)
        if stub is None:
            stub = self._channel.unary_unary(
                _SERVICE + method,
                request_serializer=type(request).SerializeToString,
                response_deserializer=response_type.FromString,
            )
            self._stubs[method] = stub
        try:
            response: _R = await stub(request, metadata=self._metadata)
        except grpc.aio.AioRpcError as e:
            raise _transport_error(method, e) from e
        return response

    async def _call_stream(self, method: str, requests: AsyncIterator[_message.Message], request_type: type[_message.Message], response_type: type[_R]) -> _R:
        stub = self._channel.stream_unary(
            _SERVICE + method,
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        try:
            response: _R = await stub(requests, metadata=self._metadata)
        except grpc.aio.AioRpcError as e:
            raise _transport_error(method, e) from e
        return response

    def _call_bidi(self, method: str, requests: AsyncIterator[_message.Message], request_type: type[_message.Message], response_type: type[_R]) -> AsyncIterator[_R]:
        stub = self._channel.stream_stream(
            _SERVICE + method,
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        return cast(AsyncIterator[_R], stub(requests, metadata=self._metadata))
"#;

pub fn hooks(schema: &[ProtoFile]) -> Result<String, EmitError> {
    let mut s = String::from(
        "\"\"\"The hooks a plugin can implement: names, wire IDs, and a typed signature per hook.\n\n`HOOK_SPECS` tells an SDK how to call a handler: its parameters (names and annotations),\nwhat it returns, how to turn a request into keyword arguments and a return value into a\nresponse. Streaming hooks (HTTP, uploads) carry frames and have no converters.\n\"\"\"\n\n",
    );
    s.push_str("from __future__ import annotations\n\nimport dataclasses\nimport enum\nfrom collections.abc import Callable\nfrom typing import Any, cast\n\nfrom google.protobuf import message as _message\n\nfrom mattermost_plugin_api import models\nfrom mattermost_plugin_api._pb import hooks_pb2\nfrom mattermost_plugin_api.models import (\n    datetime_to_timestamp,\n    dict_to_struct,\n    py_to_value,\n    struct_to_dict,\n    timestamp_to_datetime,\n    value_to_py,\n)\n\n# Keep the helpers referenced: not every contract uses every conversion.\n_CONVERSIONS = (datetime_to_timestamp, dict_to_struct, py_to_value, struct_to_dict, timestamp_to_datetime, value_to_py)\n\n\nclass Hook(str, enum.Enum):\n    \"\"\"Hook names as the host knows them (Go method names).\"\"\"\n\n");
    let mut ids = String::new();
    let mut funcs = String::new();
    let mut specs = String::new();
    let Some(hooks) = crate::emit::proto::rpcs(schema, crate::ir::ServiceKind::Hooks) else {
        return Err(EmitError {
            messages: vec!["python emitter: the contract has no Hooks service".into()],
        });
    };
    for rpc in hooks.iter().filter(|r| !r.method.protocol) {
        let m = &rpc.method;
        let member = crate::naming::snake(&m.name).to_uppercase();
        let _ = writeln!(s, "    {member} = {:?}", m.name);
        let id = m.hook_id.unwrap_or(u32::MAX);
        let _ = writeln!(ids, "    Hook.{member}: {id},");
        let (req_name, resp_name) = (&rpc.request, &rpc.response);
        let streaming = match &rpc.shape {
            RpcShape::ServeHttp | RpcShape::FileUpload => true,
            RpcShape::Unary => false,
            RpcShape::PluginHttp | RpcShape::Upload { .. } | RpcShape::ConfigurationJson { .. } => {
                return Err(EmitError {
                    messages: vec![format!(
                        "python emitter: hook {}: {:?} is an API shape",
                        m.name, rpc.shape
                    )],
                });
            }
        };
        let error = rpc
            .error
            .field_name()
            .map_or_else(|| "None".to_string(), |f| format!("{f:?}"));
        let snake = crate::naming::snake(&m.name);
        let (params, returns, converters) = if streaming {
            (
                "()".to_string(),
                "\"frames\"".to_string(),
                "None, None".to_string(),
            )
        } else {
            let args: Vec<PyField> = rpc
                .args
                .iter()
                .map(|f| py_field(&f.name, &f.ty, "models.", "", "r", ""))
                .collect();
            let results: Vec<PyField> = rpc
                .results
                .iter()
                .map(|f| py_field(&f.name, &f.ty, "models.", "", "", ""))
                .collect();
            let params = format!(
                "({})",
                args.iter()
                    .map(|a| format!("({:?}, {:?}), ", a.name, a.annotation))
                    .collect::<String>()
            );
            let returns = match results.as_slice() {
                [] => "None".to_string(),
                [one] => one.annotation.clone(),
                many => format!(
                    "tuple[{}]",
                    many.iter()
                        .map(|r| r.annotation.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let _ = write!(
                funcs,
                "\n\ndef _args_{snake}(request: _message.Message) -> dict[str, Any]:\n    r = cast(hooks_pb2.{req_name}, request)\n"
            );
            if args.is_empty() {
                funcs.push_str("    del r\n    return {}\n");
            } else {
                funcs.push_str("    return {\n");
                for a in &args {
                    let _ = writeln!(funcs, "        {:?}: {},", a.name, a.from_proto);
                }
                funcs.push_str("    }\n");
            }
            let _ = write!(
                funcs,
                "\n\ndef _response_{snake}(value: Any) -> hooks_pb2.{resp_name}:\n"
            );
            match results.as_slice() {
                [] => {
                    let _ = write!(funcs, "    del value\n    return hooks_pb2.{resp_name}()\n");
                }
                [one] => {
                    let _ = write!(
                        funcs,
                        "    {} = value\n    return hooks_pb2.{resp_name}({}={})\n",
                        one.name, one.name, one.to_proto
                    );
                }
                many => {
                    let names: Vec<&str> = many.iter().map(|r| r.name.as_str()).collect();
                    let _ = write!(
                        funcs,
                        "    {} = value\n    return hooks_pb2.{resp_name}({})\n",
                        names.join(", "),
                        many.iter()
                            .map(|r| format!("{}={}", r.name, r.to_proto))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
            (
                params,
                format!("{returns:?}"),
                format!("_args_{snake}, _response_{snake}"),
            )
        };
        let _ = writeln!(
            specs,
            "    Hook.{member}: HookSpec(Hook.{member}, {id}, {params}, {returns}, {error}, {}, hooks_pb2.{req_name}, hooks_pb2.{resp_name}, {converters}, {snake:?}),",
            if streaming { "True" } else { "False" }
        );
    }
    let _ = write!(s, "\n\nHOOK_IDS: dict[Hook, int] = {{\n{ids}}}\n");
    s.push_str(
        r#"

@dataclasses.dataclass(frozen=True)
class HookSpec:
    """How to call one hook's handler."""

    hook: Hook
    id: int
    params: tuple[tuple[str, str], ...]
    """(name, annotation) of each keyword argument, in order."""
    returns: str
    """The return annotation (`None` when the hook returns nothing)."""
    error: str | None
    """The response field for the handler's error: `app_error`, `error`, or None."""
    streaming: bool
    request_type: type[_message.Message]
    response_type: type[_message.Message]
    args: Callable[[_message.Message], dict[str, Any]] | None
    """Request message → keyword arguments (dataclasses)."""
    response: Callable[[Any], _message.Message] | None
    """Handler return value (a tuple for several results) → response message."""
    method_name: str
    """The Python method name of a handler (`message_will_be_posted`, `serve_http`)."""
"#,
    );
    s.push_str(&funcs);
    let _ = write!(s, "\n\nHOOK_SPECS: dict[Hook, HookSpec] = {{\n{specs}}}\n");
    Ok(s)
}

pub fn init(ir: &Ir, contract_hash: &str) -> String {
    format!(
        r#""""Typed Python bindings for Mattermost's plugin API, generated from its Go source."""

from mattermost_plugin_api import models
from mattermost_plugin_api.client import AsyncPluginAPI, PluginAPI
from mattermost_plugin_api.errors import (
    BadRequestError,
    ConflictError,
    GoError,
    NotFoundError,
    NotImplementedByServerError,
    PermissionDeniedError,
    PluginAPIError,
    ServerError,
    TooManyRequestsError,
    TransportError,
    UnauthorizedError,
)
from mattermost_plugin_api.hooks import HOOK_IDS, HOOK_SPECS, Hook, HookSpec

CONTRACT_HASH = "{contract_hash}"
"""Fingerprint of the proto contract; the host's must match."""

MATTERMOST_VERSION = "{version}"

__all__ = [
    "CONTRACT_HASH",
    "HOOK_IDS",
    "HOOK_SPECS",
    "MATTERMOST_VERSION",
    "AsyncPluginAPI",
    "BadRequestError",
    "ConflictError",
    "GoError",
    "Hook",
    "HookSpec",
    "NotFoundError",
    "NotImplementedByServerError",
    "PermissionDeniedError",
    "PluginAPI",
    "PluginAPIError",
    "ServerError",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedError",
    "models",
]
"#,
        version = ir.source.version
    )
}
