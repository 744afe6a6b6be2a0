//! What each askama template under `templates/python/` renders: small view structs built from
//! the typed contract. Names, annotations and conversion expressions are decided here (see
//! `fields.rs`); the Python around them lives in the templates.

use std::collections::{BTreeSet, HashMap};

use askama::Template;

use super::fields::{self, CONVERSIONS, Kind, Label, PyField, py_field};
use crate::emit::EmitError;
use crate::emit::proto::{
    ErrorField, FileKind, ProtoFile, ProtoMessage, ProtoRpc, RpcShape, ValueType,
};

/// `pyproject.toml`.
#[derive(Template)]
#[template(path = "python/pyproject.toml", escape = "none")]
pub struct Pyproject<'a> {
    pub source: &'a str,
}

/// `__init__.py` of the package.
#[derive(Template)]
#[template(path = "python/package_init.py", escape = "none")]
pub struct PackageInit<'a> {
    pub contract_hash: &'a str,
    pub version: &'a str,
}

/// `_pb/<stem>_pb2.py`: registers the file's serialized descriptor and builds its classes.
#[derive(Template)]
#[template(path = "python/pb2.py", escape = "none")]
pub struct Pb2Module {
    stem: String,
    /// The `_pb2` modules of ours this file imports (they must be registered first).
    deps: Vec<&'static str>,
    /// The serialized descriptor, as the contents of consecutive `b"…"` literals.
    descriptor: Vec<String>,
}

/// `_pb/<stem>_pb2.pyi`: attribute and constructor types of every message.
#[derive(Template)]
#[template(path = "python/pb2.pyi", escape = "none")]
pub struct Pb2Stub {
    /// Names imported from `collections.abc`.
    abc: Vec<&'static str>,
    uses_timestamp: bool,
    uses_containers: bool,
    /// The other `_pb2` modules of ours the stubs name.
    deps: Vec<&'static str>,
    messages: Vec<StubMessage>,
}

struct StubMessage {
    name: String,
    fields: Vec<StubField>,
}

struct StubField {
    name: String,
    /// The attribute's type (a container for repeated and map fields).
    attr: String,
    /// The constructor parameter's type.
    param: String,
}

/// `models/_<name>.py`: one frozen dataclass.
#[derive(Template)]
#[template(path = "python/model.py", escape = "none")]
pub struct ModelModule {
    name: String,
    doc: String,
    pb_module: &'static str,
    uses_datetime: bool,
    uses_any: bool,
    uses_models: bool,
    /// The `_convert` functions the fields use, sorted.
    conversions: Vec<&'static str>,
    fields: Vec<PyField>,
}

/// `models/__init__.py`: every class, imported on first attribute access.
#[derive(Template)]
#[template(path = "python/models_init.py", escape = "none")]
pub struct ModelsInit {
    conversions: &'static [&'static str],
    /// Sorted by module, as the type checker's imports.
    by_module: Vec<ModelRef>,
    /// In contract order.
    classes: Vec<ModelRef>,
    /// `__all__`, sorted as ruff sorts it.
    all: Vec<String>,
}

struct ModelRef {
    name: String,
    module: String,
    /// The import is longer than the line limit, so it is wrapped the way ruff wraps it.
    wrap: bool,
}

/// `client.py`: `PluginAPI` and `AsyncPluginAPI`, one method per API method, from one loop.
#[derive(Template)]
#[template(path = "python/client.py", escape = "none")]
pub struct ClientModule {
    /// Names imported from `collections.abc`, sorted.
    abc: Vec<&'static str>,
    uses_any: bool,
    uses_datetime: bool,
    /// Names imported from `_client_base`, sorted as isort sorts them.
    base: Vec<&'static str>,
    conversions: &'static [&'static str],
    flavours: [Flavour; 2],
    methods: Vec<ClientMethod>,
}

struct Flavour {
    /// asyncio (`AsyncPluginAPI`): methods are coroutines and calls are awaited.
    aio: bool,
}

struct ClientMethod {
    name: String,
    rpc: String,
    doc: Doc,
    request: String,
    response: String,
    shape: ClientShape,
    args: Vec<Arg>,
    /// The results' Python values, read from `response`.
    results: Vec<String>,
    returns: String,
    error: Option<ErrorCheck>,
}

enum ClientShape {
    Unary,
    /// A client stream: the arguments, then `param` in chunks in `chunk_field`.
    Upload {
        param: String,
        chunk_field: String,
    },
    /// Frames both ways.
    PluginHttp,
}

/// A client method's docstring: facts only — the whole Go signature, the minimum server
/// version, and what a failure raises.
struct Doc {
    signature: String,
    min_version: Option<String>,
    raises: Vec<&'static str>,
}

struct Arg {
    name: String,
    annotation: String,
    /// A repeated field of a unary call, taken as any `Sequence`.
    sequence: bool,
    default: Option<&'static str>,
    to_proto: String,
}

struct ErrorCheck {
    field: &'static str,
    /// The `errors` function that builds the exception.
    convert: &'static str,
}

/// `api_specs.py`: each API method's `ApiSpec`, the server side of `client.py`.
#[derive(Template)]
#[template(path = "python/api_specs.py", escape = "none")]
pub struct ApiSpecsModule {
    conversions: &'static [&'static str],
    methods: Vec<ApiSpecView>,
}

struct ApiSpecView {
    /// The client's method name.
    name: String,
    go_name: String,
    request: String,
    response: String,
    streaming: bool,
    /// (name, annotation) of the client method's parameters.
    params: Vec<(String, String)>,
    /// Read from the request `r` (unary methods only).
    args: Vec<PyField>,
    /// Written from the return value and read from the response `r` (unary methods only).
    results: Vec<PyField>,
    returns: String,
    error: Option<ErrorCheck>,
}

impl ApiSpecsModule {
    pub fn new(schema: &[ProtoFile]) -> Result<ApiSpecsModule, EmitError> {
        let api = crate::emit::proto::rpcs(schema, crate::ir::ServiceKind::Api)
            .ok_or_else(|| missing("API service"))?;
        let methods = api
            .iter()
            .map(|rpc| {
                let client = ClientMethod::new(rpc)?;
                let streaming = !matches!(client.shape, ClientShape::Unary);
                let field = |f, src| fields::rpc_field(f, src, "", &rpc.name);
                Ok(ApiSpecView {
                    params: client
                        .args
                        .iter()
                        .map(|a| (a.name.clone(), a.annotation.clone()))
                        .collect(),
                    args: rpc.args.iter().map(|f| field(f, "r")).collect(),
                    results: rpc.results.iter().map(|f| field(f, "r")).collect(),
                    name: client.name,
                    go_name: rpc.name.clone(),
                    request: client.request,
                    response: client.response,
                    streaming,
                    returns: client.returns,
                    error: client.error,
                })
            })
            .collect::<Result<_, EmitError>>()?;
        Ok(ApiSpecsModule {
            conversions: &CONVERSIONS,
            methods,
        })
    }
}

/// `hooks.py`: the hook names, wire IDs, and each hook's `HookSpec` with its converters.
#[derive(Template)]
#[template(path = "python/hooks.py", escape = "none")]
pub struct HooksModule {
    conversions: &'static [&'static str],
    hooks: Vec<HookView>,
}

struct HookView {
    /// The `Hook` member (`MESSAGE_WILL_BE_POSTED`).
    member: String,
    /// The Go name (`MessageWillBePosted`).
    name: String,
    id: u32,
    /// The handler's Python name (`message_will_be_posted`).
    snake: String,
    request: String,
    response: String,
    /// Frames in and out: no parameters and no converters.
    streaming: bool,
    /// The `HookShape` member.
    shape: &'static str,
    error: Option<&'static str>,
    /// Read from the request `r`.
    args: Vec<PyField>,
    /// Written from the handler's values, named as the fields.
    results: Vec<PyField>,
    returns: String,
    /// The member's docstring, without the quotes: the Go signature, then the hook's facts
    /// (`emit::hook_doc`), lines after the first indented for the class body.
    doc: String,
}

/// A hook's docstring body: `Go: <signature>`, a blank line, then one fact per line (indented
/// four spaces, as under a class member), ending on an indented line for the closing quotes.
fn hook_docstring(doc: &crate::emit::hook_doc::HookDoc) -> String {
    let escape = |s: &str| s.replace('\\', "\\\\").replace("\"\"\"", "\\\"\"\"");
    let mut out = format!("Go: {}\n", escape(&doc.signature));
    for fact in &doc.facts {
        out.push_str(&format!("\n    {}", escape(fact)));
    }
    out.push_str("\n    ");
    out
}

fn missing(what: &str) -> EmitError {
    EmitError {
        messages: vec![format!("python emitter: the contract has no {what}")],
    }
}

/// The proto files of ours a file imports, by `_pb2` module.
fn deps(kind: FileKind) -> &'static [&'static str] {
    match kind {
        FileKind::Common => &[],
        FileKind::Model => &["common_pb2"],
        FileKind::Api | FileKind::Hooks => &["common_pb2", "model_pb2"],
    }
}

impl Pb2Module {
    pub fn new(kind: FileKind, descriptor: &[u8]) -> Pb2Module {
        let descriptor = descriptor
            .chunks(24)
            .map(|chunk| {
                let mut line = String::new();
                for &b in chunk {
                    match b {
                        b'\\' => line.push_str("\\\\"),
                        b'"' => line.push_str("\\\""),
                        0x20..=0x7e => line.push(char::from(b)),
                        _ => line.push_str(&format!("\\x{b:02x}")),
                    }
                }
                line
            })
            .collect();
        Pb2Module {
            stem: kind.file_name().trim_end_matches(".proto").to_string(),
            deps: deps(kind).to_vec(),
            descriptor,
        }
    }
}

impl Pb2Stub {
    pub fn new(file: &ProtoFile, schema: &[ProtoFile]) -> Pb2Stub {
        let modules = fields::module_of(schema);
        let own = fields::pb2_module(file.kind);
        let mut uses: BTreeSet<&str> = BTreeSet::new();
        let mut value_ref = |ty: &ValueType| -> String {
            // The `any` messages are ours, defined in common.proto.
            let message = match ty {
                ValueType::AnyMap | ValueType::Any => ty.to_string(),
                ValueType::Message(n) => n.clone(),
                ValueType::Timestamp => {
                    uses.insert("timestamp");
                    return "_timestamp_pb2.Timestamp".into();
                }
                ValueType::Scalar(s) => return fields::scalar_py(*s).into(),
            };
            match modules.get(message.as_str()).copied() {
                Some(module) if module != own => {
                    uses.insert(module);
                    format!("_{module}.{message}")
                }
                _ => message,
            }
        };
        let mut messages = Vec::new();
        let (mut iterable, mut mapping, mut containers) = (false, false, false);
        for m in &file.messages {
            let mut stub = StubMessage {
                name: m.name.clone(),
                fields: Vec::new(),
            };
            for f in m.all_fields() {
                let (label, inner) = fields::split(&f.ty);
                let scalar = matches!(inner, ValueType::Scalar(_));
                let value = value_ref(&inner);
                let (attr, param) = match label {
                    Label::Repeated => {
                        iterable = true;
                        containers = true;
                        let container = if scalar {
                            "RepeatedScalarFieldContainer"
                        } else {
                            "RepeatedCompositeFieldContainer"
                        };
                        (
                            format!("_containers.{container}[{value}]"),
                            format!("Iterable[{value}] | None"),
                        )
                    }
                    Label::Map(k) => {
                        mapping = true;
                        containers = true;
                        let container = if scalar { "ScalarMap" } else { "MessageMap" };
                        (
                            format!("_containers.{container}[{k}, {value}]"),
                            format!("Mapping[{k}, {value}] | None"),
                        )
                    }
                    Label::Plain | Label::Optional => (value.clone(), format!("{value} | None")),
                };
                stub.fields.push(StubField {
                    name: f.name.clone(),
                    attr,
                    param,
                });
            }
            messages.push(stub);
        }
        // Only the imports the stubs use.
        Pb2Stub {
            abc: [("Iterable", iterable), ("Mapping", mapping)]
                .into_iter()
                .filter_map(|(name, used)| used.then_some(name))
                .collect(),
            uses_timestamp: uses.contains("timestamp"),
            uses_containers: containers,
            deps: deps(file.kind)
                .iter()
                .copied()
                .filter(|d| uses.contains(d))
                .collect(),
            messages,
        }
    }
}

/// The module (under `models/`) that defines one model class: `_` + its snake_case name.
fn model_module(name: &str) -> String {
    format!("_{}", crate::naming::snake(name))
}

/// The `models` package: one module per class, loaded on first attribute access, so importing
/// the package (and every plugin's cold start) does not pay for ~200 dataclass definitions.
/// Returns (path under `models/`, view) pairs and the package's `__init__.py`.
pub fn models(
    schema: &[ProtoFile],
    messages: &[&ProtoMessage],
) -> Result<(Vec<(String, ModelModule)>, ModelsInit), EmitError> {
    let modules = fields::module_of(schema);
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
    let classes = messages
        .iter()
        .map(|m| {
            let module = modules.get(m.name.as_str()).copied().unwrap_or("model_pb2");
            (
                format!("{}.py", model_module(&m.name)),
                ModelModule::new(m, module),
            )
        })
        .collect();
    Ok((classes, ModelsInit::new(messages)))
}

impl ModelModule {
    fn new(m: &ProtoMessage, pb_module: &'static str) -> ModelModule {
        let kinds: Vec<ValueType> = m.fields.iter().map(|f| f.ty.value()).collect();
        let kinds: Vec<Kind> = kinds.iter().map(fields::kind).collect();
        let uses = |k: Kind| kinds.contains(&k);
        let mut conversions: Vec<&'static str> = [Kind::Timestamp, Kind::AnyMap, Kind::Any]
            .into_iter()
            .filter(|k| uses(*k))
            .filter_map(Kind::conversions)
            .flatten()
            .collect();
        conversions.sort_unstable();
        ModelModule {
            name: m.name.clone(),
            doc: m
                .comments
                .first()
                .cloned()
                .unwrap_or_default()
                .replace('"', "'"),
            pb_module,
            uses_datetime: uses(Kind::Timestamp),
            uses_any: uses(Kind::AnyMap) || uses(Kind::Any),
            uses_models: kinds.iter().any(|k| matches!(k, Kind::Model(_))),
            conversions,
            fields: m
                .fields
                .iter()
                .map(|f| py_field(&f.name, &f.ty, "m", "self."))
                .collect(),
        }
    }
}

impl ModelsInit {
    fn new(messages: &[&ProtoMessage]) -> ModelsInit {
        let model_ref = |m: &ProtoMessage| {
            let (module, name) = (model_module(&m.name), m.name.clone());
            let line =
                format!("    from mattermost_plugin_api.models.{module} import {name} as {name}");
            ModelRef {
                wrap: line.len() > 120,
                name,
                module,
            }
        };
        let mut by_module: Vec<ModelRef> = messages.iter().map(|m| model_ref(m)).collect();
        by_module.sort_by(|a, b| a.module.cmp(&b.module));
        // Sorted as ruff sorts `__all__`: the constant first, then classes, then functions.
        let mut all: Vec<String> = messages
            .iter()
            .map(|m| m.name.clone())
            .chain(CONVERSIONS.iter().map(|c| c.to_string()))
            .collect();
        all.sort_unstable();
        all.insert(0, "MODELS".into());
        ModelsInit {
            conversions: &CONVERSIONS,
            by_module,
            classes: messages.iter().map(|m| model_ref(m)).collect(),
            all,
        }
    }
}

impl ClientModule {
    pub fn new(schema: &[ProtoFile]) -> Result<ClientModule, EmitError> {
        fields::check_names(schema.iter().flat_map(|f| &f.messages))?;
        let api = crate::emit::proto::rpcs(schema, crate::ir::ServiceKind::Api)
            .ok_or_else(|| missing("API service"))?;
        let mut methods = Vec::new();
        let mut kinds: Vec<ValueType> = Vec::new();
        for rpc in api {
            kinds.extend(rpc.args.iter().chain(&rpc.results).map(|f| f.ty.value()));
            methods.push(ClientMethod::new(rpc)?);
        }
        let kinds: Vec<Kind> = kinds.iter().map(fields::kind).collect();
        let shape = |f: fn(&ClientShape) -> bool| methods.iter().any(|m| f(&m.shape));
        let upload = shape(|s| matches!(s, ClientShape::Upload { .. }));
        let plugin_http = shape(|s| matches!(s, ClientShape::PluginHttp));
        let sequence = methods.iter().flat_map(|m| &m.args).any(|a| a.sequence);
        let abc = [
            ("AsyncIterable", upload),
            ("AsyncIterator", upload || plugin_http),
            ("Iterable", upload || plugin_http),
            ("Iterator", upload || plugin_http),
            ("Sequence", sequence),
        ];
        let base = [
            ("MAX_CHUNK", true),
            ("TOKEN_METADATA", true),
            ("AsyncPluginAPIBase", true),
            ("PluginAPIBase", true),
            ("achunks", upload),
            ("channel_options", true),
            ("chunks", upload),
        ];
        let used = |names: &[(&'static str, bool)]| {
            names
                .iter()
                .filter(|(_, used)| *used)
                .map(|(name, _)| *name)
                .collect()
        };
        Ok(ClientModule {
            abc: used(&abc),
            uses_any: kinds.contains(&Kind::AnyMap) || kinds.contains(&Kind::Any),
            uses_datetime: kinds.contains(&Kind::Timestamp),
            base: used(&base),
            conversions: &CONVERSIONS,
            flavours: [Flavour { aio: false }, Flavour { aio: true }],
            methods,
        })
    }
}

impl ClientMethod {
    fn new(rpc: &ProtoRpc) -> Result<ClientMethod, EmitError> {
        let m = &rpc.method;
        let shape = match &rpc.shape {
            RpcShape::ServeHttp | RpcShape::FileUpload => {
                return Err(EmitError {
                    messages: vec![format!(
                        "python emitter: {}: a hook's stream shape in the API service",
                        m.name
                    )],
                });
            }
            RpcShape::PluginHttp => ClientShape::PluginHttp,
            RpcShape::Upload { chunk_field, param } => ClientShape::Upload {
                param: param.clone(),
                chunk_field: chunk_field.clone(),
            },
            RpcShape::Unary | RpcShape::ConfigurationJson { .. } => ClientShape::Unary,
        };
        let args = rpc
            .args
            .iter()
            .map(|f| {
                let field = fields::rpc_field(f, "", "", &rpc.name);
                // A unary call takes any sequence for a repeated field, and none by default.
                let sequence = field.repeated && matches!(shape, ClientShape::Unary);
                Arg {
                    annotation: if sequence {
                        format!("Sequence[{}]", fields::item_annotation(&f.ty))
                    } else {
                        field.annotation
                    },
                    sequence,
                    default: sequence.then_some("()"),
                    name: field.name,
                    to_proto: field.to_proto,
                }
            })
            .collect();
        let results: Vec<PyField> = rpc
            .results
            .iter()
            .map(|f| fields::rpc_field(f, "response", "", &rpc.name))
            .collect();
        let mut raises = match rpc.error {
            ErrorField::AppError => vec![
                "PluginAPIError (by status: BadRequestError, NotFoundError, ...): the server's AppError.",
            ],
            ErrorField::GoError => vec!["GoError: the server's error."],
            ErrorField::None => vec![],
        };
        if rpc.results.iter().any(|f| f.required) {
            raises.push("ContractError: the server left out a result it always sets.");
        }
        raises.push("TransportError: the host could not be reached.");
        Ok(ClientMethod {
            name: crate::naming::snake(&m.name),
            rpc: rpc.name.clone(),
            doc: Doc {
                signature: m.go_signature(),
                min_version: m.min_server_version.clone(),
                raises,
            },
            request: rpc.request.clone(),
            response: rpc.response.clone(),
            shape,
            args,
            returns: fields::returns(&results),
            results: results.into_iter().map(|r| r.from_proto).collect(),
            error: error_check(rpc.error),
        })
    }

    /// Whether the call's response is read (for an error or results).
    fn reads_response(&self) -> bool {
        self.error.is_some() || !self.results.is_empty()
    }
}

fn error_check(error: ErrorField) -> Option<ErrorCheck> {
    let convert = match error {
        ErrorField::None => return None,
        ErrorField::AppError => "from_app_error",
        ErrorField::GoError => "from_go_error",
    };
    Some(ErrorCheck {
        field: error.field_name()?,
        convert,
    })
}

impl HooksModule {
    pub fn new(schema: &[ProtoFile]) -> Result<HooksModule, EmitError> {
        let rpcs = crate::emit::proto::rpcs(schema, crate::ir::ServiceKind::Hooks)
            .ok_or_else(|| missing("Hooks service"))?;
        let hooks = rpcs
            .iter()
            .filter(|r| !r.method.protocol)
            .map(HookView::new)
            .collect::<Result<_, _>>()?;
        Ok(HooksModule {
            conversions: &CONVERSIONS,
            hooks,
        })
    }
}

impl HookView {
    fn new(rpc: &ProtoRpc) -> Result<HookView, EmitError> {
        let m = &rpc.method;
        let (streaming, shape) = match &rpc.shape {
            RpcShape::ServeHttp => (true, "SERVE_HTTP"),
            RpcShape::FileUpload => (true, "FILE_UPLOAD"),
            RpcShape::Unary => (false, "UNARY"),
            RpcShape::PluginHttp | RpcShape::Upload { .. } | RpcShape::ConfigurationJson { .. } => {
                return Err(EmitError {
                    messages: vec![format!(
                        "python emitter: hook {}: {:?} is an API shape",
                        m.name, rpc.shape
                    )],
                });
            }
        };
        let snake = crate::naming::snake(&m.name);
        let (args, results) = if streaming {
            // Frames carry the arguments; the results are still named for `HookSpec.results`.
            (
                Vec::new(),
                rpc.results
                    .iter()
                    .map(|f| fields::rpc_field(f, "", "", &rpc.name))
                    .collect(),
            )
        } else {
            (
                rpc.args
                    .iter()
                    .map(|f| fields::rpc_field(f, "r", "", &rpc.name))
                    .collect(),
                rpc.results
                    .iter()
                    .map(|f| fields::rpc_field(f, "", "", &rpc.name))
                    .collect::<Vec<_>>(),
            )
        };
        Ok(HookView {
            doc: hook_docstring(&crate::emit::hook_doc::HookDoc::new(rpc)),
            member: snake.to_uppercase(),
            name: m.name.clone(),
            id: m.hook_id.unwrap_or(u32::MAX),
            request: rpc.request.clone(),
            response: rpc.response.clone(),
            streaming,
            shape,
            error: rpc.error.field_name(),
            returns: if streaming {
                "frames".into()
            } else {
                fields::returns(&results)
            },
            args,
            results,
            snake,
        })
    }
}
