//! The gRPC contract: `generated/proto/mattermost/plugin/v1/*.proto`, from the IR.
//!
//! Building happens in two steps: the IR is lowered to a small proto schema (messages, fields with
//! numbers from the lock, services), then each file is rendered with the askama template in
//! `templates/proto/`. Every non-obvious choice lives in a table: types in `mapping`, methods in
//! `crate::special`, message placement and names in `OVERRIDES` below.

pub mod lock;
pub mod mapping;
mod render;
pub mod types;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::emit::{EmitError, GeneratedFile};
use crate::ir::*;
use crate::ir::{HookDefault, Special};
pub use lock::FieldLock;
use mapping::{Mapper, Wire, field_shape};
pub use types::{ErrorField, FieldType, RpcShape, Scalar, ValueType};

pub const PACKAGE: &str = "mattermost.plugin.v1";
/// Where the proto tree lives, relative to the repository root.
pub const ROOT: &str = "generated/proto";
pub const DIR: &str = "mattermost/plugin/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    Common,
    Model,
    Api,
    Hooks,
}

impl FileKind {
    pub fn file_name(self) -> &'static str {
        match self {
            FileKind::Common => "common.proto",
            FileKind::Model => "model.proto",
            FileKind::Api => "api.proto",
            FileKind::Hooks => "hooks.proto",
        }
    }
}

/// Model types that get a fixed name, a place in `common.proto`, or extra fields.
struct Override {
    go: &'static str,
    message: &'static str,
    file: FileKind,
    extra: &'static [Extra],
}

/// A field a Go type does not declare.
struct Extra {
    key: &'static str,
    name: &'static str,
    ty: fn() -> FieldType,
    comment: &'static str,
}

const OVERRIDES: &[Override] = &[
    Override {
        go: "model.AppError",
        message: "AppError",
        file: FileKind::Common,
        // Unexported in Go, yet needed to render the message in another language.
        extra: &[Extra {
            key: "$params",
            name: "params",
            ty: || FieldType::Single(ValueType::AnyMap),
            comment: "Go: params map[string]any (unexported; translation parameters)",
        }],
    },
    Override {
        go: "plugin.Context",
        message: "PluginContext",
        file: FileKind::Common,
        extra: &[],
    },
];

#[derive(Debug, Clone)]
pub struct ProtoField {
    pub name: String,
    pub ty: FieldType,
    pub number: u32,
    pub comments: Vec<String>,
    /// A message-typed argument or result that is always set (see `special::nil_rule`):
    /// languages type it non-optional and treat its absence as a broken contract. Always false
    /// for model fields.
    pub required: bool,
    /// For an rpc's argument or result: the position of the Go parameter or result it carries.
    pub go_position: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct ProtoMessage {
    pub name: String,
    pub comments: Vec<String>,
    pub fields: Vec<ProtoField>,
    /// At most one set of alternatives (`oneof`), rendered after `fields`.
    pub oneof: Option<ProtoOneof>,
    pub reserved_numbers: Vec<u32>,
    pub reserved_names: Vec<String>,
    /// Whether languages expose the message as a model type (a dataclass, say). The messages
    /// that carry Go's `any` are not: languages convert them to native values.
    pub model: bool,
    /// For a message made from a Go struct: which struct, and where each field sits in it.
    pub go: Option<GoOrigin>,
}

/// The Go struct a model message comes from. JSON's embedding rules flatten embedded structs into
/// the message; Go-shaped encodings (gob) need the path back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoOrigin {
    /// `model.Post`.
    pub type_name: String,
    /// Proto field name → Go field path (`["Base", "Id"]` for a field promoted from `Base`).
    pub paths: BTreeMap<String, Vec<String>>,
}

/// Fields of which at most one is set.
#[derive(Debug, Clone)]
pub struct ProtoOneof {
    pub name: String,
    pub fields: Vec<ProtoField>,
}

impl ProtoMessage {
    /// Every field, those of the `oneof` last.
    pub fn all_fields(&self) -> impl Iterator<Item = &ProtoField> {
        self.fields
            .iter()
            .chain(self.oneof.iter().flat_map(|o| &o.fields))
    }
}

/// One rpc with everything a language needs to call or serve it.
#[derive(Debug, Clone)]
pub struct ProtoRpc {
    pub name: String,
    pub request: String,
    pub response: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
    pub comments: Vec<String>,
    /// The Go method, for facts that do not travel (signature, minimum version, hook ID).
    pub method: Method,
    pub shape: RpcShape,
    /// Request fields that are the method's arguments, in order (for streaming shapes, those of
    /// the first frame; never chunk or framing fields).
    pub args: Vec<ProtoField>,
    /// Response fields that are the method's results, in order (never the error field).
    pub results: Vec<ProtoField>,
    pub error: ErrorField,
}

#[derive(Debug, Clone)]
pub struct ProtoService {
    pub name: String,
    pub comments: Vec<String>,
    pub rpcs: Vec<ProtoRpc>,
}

#[derive(Debug, Clone)]
pub struct ProtoFile {
    pub kind: FileKind,
    pub imports: Vec<String>,
    pub messages: Vec<ProtoMessage>,
    pub services: Vec<ProtoService>,
}

/// A field before numbering.
struct Draft {
    key: String,
    name: String,
    wire: Wire,
    comments: Vec<String>,
    /// The Go parameter or result position, for an rpc's argument or result.
    position: Option<usize>,
}

struct DraftMessage {
    name: String,
    file: FileKind,
    comments: Vec<String>,
    fields: Vec<Draft>,
    /// Fields whose type is fixed (extras, wrappers, framing).
    fixed: Vec<Fixed>,
    /// A `oneof`: its name and the names of the fixed fields in it.
    oneof: Option<(String, Vec<String>)>,
    model: bool,
    go: Option<GoOrigin>,
}

/// A field whose type is known before mapping: (lock key, name, type, comments).
type Fixed = (String, String, FieldType, Vec<String>);

/// An rpc before its messages are numbered: which draft fields are arguments and results.
struct DraftRpc {
    rpc: ProtoRpc,
    arg_names: Vec<String>,
    result_names: Vec<String>,
    /// Argument and result fields that are always set.
    required: BTreeSet<String>,
    /// Argument and result fields → the Go position they carry.
    positions: HashMap<String, usize>,
}

/// The proto files for an IR, and the lock after allocating any new field numbers.
pub fn emit(ir: &Ir, lock: &FieldLock) -> Result<(Vec<GeneratedFile>, FieldLock), EmitError> {
    let (files, lock) = build(ir, lock)?;
    Ok((render_all(ir, &files)?, lock))
}

/// Renders built proto files.
pub fn render_all(ir: &Ir, files: &[ProtoFile]) -> Result<Vec<GeneratedFile>, EmitError> {
    let header = format!("{}@{}", ir.source.module, ir.source.version);
    let mut out = Vec::new();
    for file in files {
        out.push(GeneratedFile {
            path: format!("{ROOT}/{DIR}/{}", file.kind.file_name()),
            contents: render::render(file, &header)?,
        });
    }
    Ok(out)
}

/// Lowers the IR to proto files (unrendered).
pub fn build(ir: &Ir, lock: &FieldLock) -> Result<(Vec<ProtoFile>, FieldLock), EmitError> {
    let mut errors = Vec::new();
    let message_names = message_names(ir);
    let mapper = Mapper {
        ir,
        message_names: &message_names,
    };
    let mut drafts: Vec<DraftMessage> = static_messages();

    for decl in &ir.types {
        if let TypeKind::Struct { .. } = decl.kind {
            match model_message(ir, &mapper, decl, &message_names) {
                Ok(m) => drafts.push(m),
                Err(e) => errors.push(e),
            }
        }
    }
    let mut services: Vec<(FileKind, ProtoService, Vec<DraftRpc>)> = Vec::new();
    for service in &ir.services {
        let (rpcs, messages) = service_messages(ir, &mapper, service, &mut errors);
        drafts.extend(messages);
        services.push(rpcs);
    }
    if !errors.is_empty() {
        return Err(EmitError { messages: errors });
    }

    // Names must be unique across the package.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, d) in drafts.iter().enumerate() {
        if let Some(prev) = seen.insert(&d.name, i) {
            errors.push(format!(
                "proto message `{}` would be generated twice ({}; {}); add an entry to OVERRIDES in codegen/src/emit/proto/mod.rs",
                d.name,
                drafts[prev].comments.first().map(String::as_str).unwrap_or("?"),
                d.comments.first().map(String::as_str).unwrap_or("?")
            ));
        }
    }
    if !errors.is_empty() {
        return Err(EmitError { messages: errors });
    }

    // Fit every field; nested lists and maps ask for wrapper messages.
    let mut lock = lock.clone();
    let mut wrappers: BTreeMap<String, FieldType> = BTreeMap::new();
    let mut messages: Vec<(FileKind, ProtoMessage)> = Vec::new();
    for d in drafts {
        let mut fields: Vec<Fixed> = Vec::new();
        for f in d.fields {
            if f.wire == Wire::Omitted {
                continue;
            }
            let shape = field_shape(&f.wire);
            for (name, ty) in shape.wrappers {
                wrappers.insert(name, ty);
            }
            fields.push((f.key, f.name, shape.ty, f.comments));
        }
        fields.extend(d.fixed);
        let mut message = number(&mut lock, d.name, d.comments, fields, d.oneof);
        message.model = d.model;
        message.go = d.go;
        messages.push((d.file, message));
    }
    for (name, ty) in wrappers {
        let comments = vec![format!("A wrapper: proto cannot nest `{ty}` directly.")];
        let key = match ty {
            FieldType::Map(..) => "entries",
            _ => "values",
        };
        let field = (format!("${key}"), key.to_string(), ty, Vec::new());
        messages.push((
            FileKind::Model,
            number(&mut lock, name, comments, vec![field], None),
        ));
    }

    let mut files: BTreeMap<FileKind, ProtoFile> = BTreeMap::new();
    for kind in [
        FileKind::Common,
        FileKind::Model,
        FileKind::Api,
        FileKind::Hooks,
    ] {
        files.insert(
            kind,
            ProtoFile {
                kind,
                imports: Vec::new(),
                messages: Vec::new(),
                services: Vec::new(),
            },
        );
    }
    for (kind, m) in messages {
        if let Some(f) = files.get_mut(&kind) {
            f.messages.push(m);
        }
    }
    if let Some(f) = files.get_mut(&FileKind::Model) {
        f.messages.sort_by(|a, b| a.name.cmp(&b.name));
    }
    let numbered: HashMap<String, ProtoMessage> = files
        .values()
        .flat_map(|f| &f.messages)
        .map(|m| (m.name.clone(), m.clone()))
        .collect();
    for (kind, mut service, drafts) in services {
        for d in drafts {
            service.rpcs.push(resolve_rpc(d, &numbered)?);
        }
        if let Some(f) = files.get_mut(&kind) {
            f.services.push(service);
        }
    }
    let files: Vec<ProtoFile> = files.into_values().map(with_imports).collect();
    Ok((files, lock))
}

/// Picks an rpc's argument and result fields out of its numbered messages.
fn resolve_rpc(
    d: DraftRpc,
    messages: &HashMap<String, ProtoMessage>,
) -> Result<ProtoRpc, EmitError> {
    let pick = |message: &str, names: &[String]| -> Result<Vec<ProtoField>, EmitError> {
        let m = messages.get(message).ok_or_else(|| EmitError {
            messages: vec![format!("rpc {}: no message {message}", d.rpc.name)],
        })?;
        names
            .iter()
            .map(|n| {
                m.fields
                    .iter()
                    .find(|f| &f.name == n)
                    .map(|f| ProtoField {
                        required: d.required.contains(n),
                        go_position: d.positions.get(n).copied(),
                        ..f.clone()
                    })
                    .ok_or_else(|| EmitError {
                        messages: vec![format!("rpc {}: {message} has no field {n}", d.rpc.name)],
                    })
            })
            .collect()
    };
    let args = pick(&d.rpc.request, &d.arg_names)?;
    let results = pick(&d.rpc.response, &d.result_names)?;
    Ok(ProtoRpc {
        args,
        results,
        ..d.rpc
    })
}

fn number(
    lock: &mut FieldLock,
    name: String,
    comments: Vec<String>,
    fields: Vec<Fixed>,
    oneof: Option<(String, Vec<String>)>,
) -> ProtoMessage {
    let wires: Vec<String> = fields.iter().map(|(_, _, ty, _)| ty.to_string()).collect();
    let requests: Vec<lock::Request> = fields
        .iter()
        .zip(&wires)
        .map(|((key, fname, _, _), wire)| lock::Request {
            key,
            name: fname,
            wire,
        })
        .collect();
    let numbers = lock.allocate(&name, &requests);
    let reserved = lock.reserved(&name);
    let (alternatives, fields): (Vec<ProtoField>, Vec<ProtoField>) = fields
        .into_iter()
        .zip(numbers)
        .map(|((_, fname, ty, comments), number)| ProtoField {
            name: fname,
            ty,
            number,
            comments,
            required: false,
            go_position: None,
        })
        .partition(|f| {
            oneof
                .as_ref()
                .is_some_and(|(_, names)| names.contains(&f.name))
        });
    ProtoMessage {
        oneof: oneof.map(|(name, _)| ProtoOneof {
            name,
            fields: alternatives,
        }),
        model: true,
        go: None,
        reserved_numbers: reserved.iter().map(|r| r.number).collect(),
        reserved_names: reserved
            .into_iter()
            .map(|r| r.name)
            .filter(|n| !n.is_empty())
            .collect(),
        name,
        comments,
        fields,
    }
}

/// Imports follow from the types each file's fields use.
fn with_imports(mut file: ProtoFile) -> ProtoFile {
    let mut imports = BTreeSet::new();
    for m in &file.messages {
        for f in m.all_fields() {
            if let Some(import) = f.ty.value().well_known_import() {
                imports.insert(import.to_string());
            }
        }
    }
    match file.kind {
        FileKind::Common => {}
        FileKind::Model => {
            imports.insert(format!("{DIR}/common.proto"));
        }
        FileKind::Api | FileKind::Hooks => {
            imports.insert(format!("{DIR}/common.proto"));
            imports.insert(format!("{DIR}/model.proto"));
        }
    }
    file.imports = imports.into_iter().collect();
    file
}

/// Proto message names of the structs in the closure.
fn message_names(ir: &Ir) -> HashMap<String, String> {
    ir.types
        .iter()
        .filter(|t| matches!(t.kind, TypeKind::Struct { .. }))
        .map(|t| {
            let q = t.qualified_name();
            let name = match OVERRIDES.iter().find(|o| o.go == q) {
                Some(o) => o.message.to_string(),
                // Lifted inline structs (`Owner.Field`) become `OwnerField`.
                None if t.package == "model" => t.name.replace('.', ""),
                None => format!(
                    "{}{}",
                    heck::AsUpperCamelCase(&t.package),
                    t.name.replace('.', "")
                ),
            };
            (q, name)
        })
        .collect()
}

/// The proto field name for a JSON or Go name: lower snake case, only `[a-z0-9_]`; empty when
/// the name has no letters or digits at all.
pub fn field_name(name: &str) -> String {
    let snake = crate::naming::snake(name);
    let clean: String = snake
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_matches('_').to_string();
    match clean.chars().next() {
        None => String::new(),
        Some(c) if c.is_ascii_digit() => format!("f_{clean}"),
        Some(_) => clean,
    }
}

/// A struct field after JSON's embedding rules, with where it came from.
struct Flat<'a> {
    field: &'a Field,
    depth: usize,
    /// Go path, `Base.Id` for a field promoted from an embedded `Base`.
    path: String,
}

/// Flattens embedded structs the way encoding/json does: promoted fields join the outer struct; a
/// shallower field hides deeper ones of the same JSON name; at equal depth a tagged field wins,
/// and otherwise all of them drop out.
fn flatten<'a>(ir: &'a Ir, decl: &'a TypeDecl) -> Vec<Flat<'a>> {
    let mut raw: Vec<Flat<'a>> = Vec::new();
    collect_flat(ir, decl, 0, "", &mut raw, &mut Vec::new());
    let key = |f: &Flat| {
        f.field
            .json_name
            .clone()
            .filter(|_| !f.field.json_skip)
            .unwrap_or_else(|| format!("go:{}", f.field.name))
    };
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, f) in raw.iter().enumerate() {
        by_key.entry(key(f)).or_default().push(i);
    }
    let mut keep = vec![false; raw.len()];
    for indices in by_key.values() {
        let min = indices.iter().map(|&i| raw[i].depth).min().unwrap_or(0);
        let shallow: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| raw[i].depth == min)
            .collect();
        if shallow.len() == 1 {
            keep[shallow[0]] = true;
        } else {
            let tagged: Vec<usize> = shallow
                .iter()
                .copied()
                .filter(|&i| raw[i].field.json_name.as_deref() != Some(&raw[i].field.name))
                .collect();
            if tagged.len() == 1 {
                keep[tagged[0]] = true;
            }
        }
    }
    raw.into_iter()
        .zip(keep)
        .filter_map(|(f, k)| k.then_some(f))
        .collect()
}

fn collect_flat<'a>(
    ir: &'a Ir,
    decl: &'a TypeDecl,
    depth: usize,
    prefix: &str,
    out: &mut Vec<Flat<'a>>,
    stack: &mut Vec<String>,
) {
    let TypeKind::Struct { fields, .. } = &decl.kind else {
        return;
    };
    stack.push(decl.qualified_name());
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        if f.embedded && f.json_name.is_none() && !f.json_skip {
            let target = match &f.ty {
                TypeRef::Pointer(inner) => &**inner,
                t => t,
            };
            if let TypeRef::Named { package, name, .. } = target {
                if let Some(inner) = ir.find_type(package, name) {
                    if matches!(inner.kind, TypeKind::Struct { .. })
                        && !stack.contains(&inner.qualified_name())
                    {
                        collect_flat(ir, inner, depth + 1, &format!("{path}."), out, stack);
                        continue;
                    }
                }
            }
        }
        out.push(Flat {
            field: f,
            depth,
            path,
        });
    }
    stack.pop();
}

/// Known values of a string enum reached through a field type, for the field comment.
fn enum_note(ir: &Ir, ty: &TypeRef) -> Option<String> {
    let mut note = None;
    ty.walk(&mut |t| {
        if note.is_some() {
            return;
        }
        if let TypeRef::Named { package, name, .. } = t {
            if let Some(TypeDecl {
                kind: TypeKind::Named { enum_values, .. },
                ..
            }) = ir.find_type(package, name)
            {
                if !enum_values.is_empty() {
                    let mut values: Vec<String> = Vec::new();
                    for v in enum_values {
                        let quoted = format!("{:?}", v.value);
                        if !values.contains(&quoted) {
                            values.push(quoted);
                        }
                    }
                    note = Some(format!(
                        "Known values ({package}.{name}, open set): {}",
                        values.join(", ")
                    ));
                }
            }
        }
    });
    note
}

fn model_message(
    ir: &Ir,
    mapper: &Mapper,
    decl: &TypeDecl,
    names: &HashMap<String, String>,
) -> Result<DraftMessage, String> {
    let q = decl.qualified_name();
    let over = OVERRIDES.iter().find(|o| o.go == q);
    let flat = flatten(ir, decl);
    let go_names: Vec<&str> = flat.iter().map(|f| f.field.name.as_str()).collect();
    let mut fields = Vec::new();
    let mut used_names: HashMap<String, String> = HashMap::new();
    for f in &flat {
        let wire = mapper
            .map(&f.field.ty)
            .map_err(|e| format!("{q}.{}: {e}", f.path))?;
        let json = f
            .field
            .json_name
            .clone()
            .filter(|_| !f.field.json_skip)
            .unwrap_or_else(|| f.field.name.clone());
        // A JSON name with no letters (`json:"-,"` names the key `-`) falls back to the Go name.
        let name = Some(field_name(&json))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| field_name(&f.field.name));
        if let Some(other) = used_names.insert(name.clone(), f.path.clone()) {
            return Err(format!(
                "{q}: fields `{other}` and `{}` both become proto field `{name}`",
                f.path
            ));
        }
        // The lock key is the Go field name, or its path when a promoted field shares the name.
        let key = if go_names.iter().filter(|n| **n == f.field.name).count() > 1 {
            f.path.clone()
        } else {
            f.field.name.clone()
        };
        let mut comments = vec![format!(
            "Go: {} {}{}",
            f.path,
            f.field.ty.go_string(),
            if f.field.json_skip {
                " (json:\"-\")"
            } else {
                ""
            }
        )];
        comments.extend(enum_note(ir, &f.field.ty));
        if let Some(known) = &f.field.known_values {
            comments.extend(crate::emit::enums::known_values_note(known));
        }
        fields.push(Draft {
            key,
            name,
            wire,
            comments,
            position: None,
        });
    }
    let fixed = over
        .map(|o| {
            o.extra
                .iter()
                .map(|e| {
                    (
                        e.key.to_string(),
                        e.name.to_string(),
                        (e.ty)(),
                        vec![e.comment.to_string()],
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(DraftMessage {
        name: names.get(&q).cloned().unwrap_or_else(|| decl.name.clone()),
        file: over.map_or(FileKind::Model, |o| o.file),
        comments: vec![format!("Go: {q} ({})", decl.file)],
        go: Some(GoOrigin {
            type_name: q.clone(),
            paths: fields
                .iter()
                .zip(&flat)
                .map(|(d, f)| {
                    (
                        d.name.clone(),
                        f.path.split('.').map(String::from).collect(),
                    )
                })
                .collect(),
        }),
        fields,
        fixed,
        oneof: None,
        model: true,
    })
}

fn fixed(key: &str, ty: FieldType, comment: &str) -> Fixed {
    let comments = if comment.is_empty() {
        Vec::new()
    } else {
        vec![comment.to_string()]
    };
    (key.to_string(), key.to_string(), ty, comments)
}

/// Messages that do not come from Go types: the plain-error shape and HTTP framing.
fn static_messages() -> Vec<DraftMessage> {
    let msg = |name: &str, comments: &[&str], fields: Vec<Fixed>| DraftMessage {
        name: name.into(),
        file: FileKind::Common,
        comments: comments.iter().map(|c| c.to_string()).collect(),
        fields: Vec::new(),
        fixed: fields,
        oneof: None,
        model: true,
        go: None,
    };
    vec![
        msg(
            "Error",
            &["A plain Go `error` from a method or hook."],
            vec![
                fixed(
                    "code",
                    FieldType::scalar(Scalar::Uint32),
                    "0 any error, 1 io.EOF, 2 sql.ErrNoRows, 3 sql.ErrConnDone, 4 sql.ErrTxDone, 5 driver.ErrSkip, 6 driver.ErrBadConn, 7 driver.ErrRemoveArgument (the codes of Mattermost's net/rpc transport)",
                ),
                fixed("message", FieldType::scalar(Scalar::String), "err.Error()"),
            ],
        ),
        msg(
            "HttpHeader",
            &["One HTTP header with all its values, in order."],
            vec![
                fixed("name", FieldType::scalar(Scalar::String), ""),
                fixed(
                    "values",
                    FieldType::Repeated(ValueType::Scalar(Scalar::String)),
                    "",
                ),
            ],
        ),
        msg(
            "HttpRequestHead",
            &["The head of an HTTP request; the body follows in chunks of at most 64 KiB."],
            vec![
                fixed("method", FieldType::scalar(Scalar::String), ""),
                fixed(
                    "url",
                    FieldType::scalar(Scalar::String),
                    "The request URL as received (path and query).",
                ),
                fixed(
                    "proto",
                    FieldType::scalar(Scalar::String),
                    "HTTP/1.1, HTTP/2.0, …",
                ),
                fixed(
                    "headers",
                    FieldType::Repeated(ValueType::Message("HttpHeader".into())),
                    "",
                ),
                fixed("host", FieldType::scalar(Scalar::String), ""),
                fixed("remote_addr", FieldType::scalar(Scalar::String), ""),
                fixed("request_uri", FieldType::scalar(Scalar::String), ""),
                fixed(
                    "content_length",
                    FieldType::scalar(Scalar::Int64),
                    "-1 when unknown.",
                ),
            ],
        ),
        msg(
            "HttpResponseHead",
            &["The head of an HTTP response; the body follows in chunks of at most 64 KiB."],
            vec![
                fixed(
                    "status_code",
                    FieldType::scalar(Scalar::Int32),
                    "A status outside 100–999 is answered as 500.",
                ),
                fixed(
                    "headers",
                    FieldType::Repeated(ValueType::Message("HttpHeader".into())),
                    "",
                ),
            ],
        ),
        DraftMessage {
            oneof: Some((
                "kind".into(),
                [
                    "bool_value",
                    "int_value",
                    "uint_value",
                    "float_value",
                    "string_value",
                    "bytes_value",
                    "list_value",
                    "map_value",
                ]
                .map(String::from)
                .to_vec(),
            )),
            model: false,
            ..msg(
                types::ANY_VALUE,
                &[
                    "A Go `any` value with its kind kept: signed and unsigned integers and floats stay",
                    "apart, and bytes are not text. No kind set is Go's nil.",
                ],
                vec![
                    fixed("bool_value", FieldType::scalar(Scalar::Bool), ""),
                    fixed(
                        "int_value",
                        FieldType::scalar(Scalar::Int64),
                        "Go's signed integers (int, int8 … int64).",
                    ),
                    fixed(
                        "uint_value",
                        FieldType::scalar(Scalar::Uint64),
                        "Go's unsigned integers (uint, uint8 … uint64).",
                    ),
                    fixed(
                        "float_value",
                        FieldType::scalar(Scalar::Double),
                        "Go's float32 and float64.",
                    ),
                    fixed("string_value", FieldType::scalar(Scalar::String), ""),
                    fixed(
                        "bytes_value",
                        FieldType::scalar(Scalar::Bytes),
                        "Go's []byte.",
                    ),
                    fixed(
                        "list_value",
                        FieldType::message(types::ANY_LIST),
                        "Go's []any (and other slices).",
                    ),
                    fixed(
                        "map_value",
                        FieldType::message(types::ANY_MAP),
                        "Go's map[string]any.",
                    ),
                ],
            )
        },
        DraftMessage {
            model: false,
            ..msg(
                types::ANY_LIST,
                &["A list of Go `any` values."],
                vec![fixed("values", FieldType::Repeated(ValueType::Any), "")],
            )
        },
        DraftMessage {
            model: false,
            ..msg(
                types::ANY_MAP,
                &["A Go `map[string]any`: each value keeps its kind."],
                vec![fixed(
                    "entries",
                    FieldType::Map(Scalar::String, ValueType::Any),
                    "",
                )],
            )
        },
    ]
}

fn method_comments(service: ServiceKind, m: &Method) -> Vec<String> {
    let mut c = vec![format!("Go: {}", m.go_signature())];
    if let Some(v) = &m.min_server_version {
        c.push(format!("Minimum server version: {v}"));
    }
    if !m.tags.is_empty() {
        c.push(format!("Tags: {}", m.tags.join(", ")));
    }
    if let Some(id) = m.hook_id {
        c.push(format!("Hook ID: {id}"));
    }
    if service == ServiceKind::Hooks {
        match m.hook_default {
            Some(HookDefault::Zero) => c.push("When not implemented: Go zero values.".into()),
            Some(HookDefault::NotFound) => c.push("When not implemented: 404 Not Found.".into()),
            Some(HookDefault::ReturnParam(p)) => c.push(format!(
                "When not implemented: returns `{}` unchanged.",
                m.params
                    .get(p)
                    .and_then(|p| p.name.clone())
                    .unwrap_or_else(|| p.to_string())
            )),
            None => {}
        }
    }
    if let Some(s) = m.special {
        c.push(match s {
            Special::HttpStream => {
                "Streams: request head, then body chunks in; response head, then body chunks out."
                    .into()
            }
            Special::PluginHttp => {
                "Streams: plugin-to-plugin HTTP through the host, framed like ServeHTTP.".into()
            }
            Special::FileUploadStream => {
                "Streams: file chunks in; replacement chunks out, then info and rejection reason."
                    .into()
            }
            Special::ReaderUpload => {
                "Streams: the first message carries the other arguments, later ones carry chunks."
                    .into()
            }
            Special::LogKeyValues => "Key/value pairs travel as loosely typed values.".into(),
            Special::ConfigurationAsJson => "The configuration travels as JSON bytes.".into(),
            Special::ReplaceOrReject => {
                "An absent replacement and an empty reason let the value through unchanged.".into()
            }
        });
    }
    c
}

fn is_plugin_context(ty: &TypeRef) -> bool {
    matches!(ty, TypeRef::Pointer(inner) if matches!(&**inner, TypeRef::Named { package, name, .. } if package == "plugin" && name == "Context"))
}

fn param_field(ir: &Ir, mapper: &Mapper, m: &Method, p: &Param) -> Result<Draft, String> {
    let wire = mapper.map(&p.ty).map_err(|e| {
        format!(
            "{}: parameter `{}`: {e}",
            m.name,
            p.name.as_deref().unwrap_or(&p.wire_name)
        )
    })?;
    // Hooks name their context `c`; on the wire it is always `context`.
    let name = if is_plugin_context(&p.ty) {
        "context".to_string()
    } else {
        p.name
            .as_deref()
            .map(field_name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("arg_{}", p.position))
    };
    let mut comments = vec![format!(
        "Go: {} {}",
        p.name.as_deref().unwrap_or("_"),
        p.ty.go_string()
    )];
    comments.extend(enum_note(ir, &p.ty));
    Ok(Draft {
        key: p.name.clone().unwrap_or_else(|| p.wire_name.clone()),
        name,
        wire,
        comments,
        position: Some(p.position),
    })
}

fn result_fields(ir: &Ir, mapper: &Mapper, m: &Method) -> Result<Vec<Draft>, String> {
    let mut out = Vec::new();
    let replace = m.special == Some(Special::ReplaceOrReject);
    for r in &m.results {
        let wire = mapper
            .map(&r.ty)
            .map_err(|e| format!("{}: result {}: {e}", m.name, r.position))?;
        let name = match (&r.name, replace, r.position) {
            (_, true, 0) => "replacement".to_string(),
            (_, true, _) => "rejection_reason".to_string(),
            (Some(n), _, _) if !field_name(n).is_empty() => field_name(n),
            // Unnamed (or named only `_`): by position.
            _ if m.results.len() == 1 => "result".to_string(),
            (_, _, p) => format!("result_{p}"),
        };
        let mut comments = vec![format!("Go: result {} {}", r.position, r.ty.go_string())];
        comments.extend(enum_note(ir, &r.ty));
        out.push(Draft {
            key: r.name.clone().unwrap_or_else(|| r.wire_name.clone()),
            name,
            wire,
            comments,
            position: Some(r.position),
        });
    }
    Ok(out)
}

/// The message-typed arguments and results that are always set: Go values (never nil), and
/// pointers that `special::nil_rule` says are never nil. A hook's results are the plugin's
/// choice and stay optional.
fn required_fields(
    service: ServiceKind,
    m: &Method,
    args: &[Draft],
    results: &[Draft],
) -> BTreeSet<String> {
    use crate::special::{Nil, Slot, nil_rule};
    let message = |d: &Draft| {
        matches!(
            d.wire,
            Wire::One(ValueType::Message(_) | ValueType::Timestamp)
        )
    };
    let always = |ty: &TypeRef, slot: Slot<'_>| {
        !matches!(ty, TypeRef::Pointer(_)) || nil_rule(service, m, slot) == Nil::Never
    };
    let mut out = BTreeSet::new();
    for d in args.iter().filter(|d| message(d)) {
        if let Some(p) = m
            .params
            .iter()
            .find(|p| p.name.as_deref().unwrap_or(&p.wire_name) == d.key)
            && always(&p.ty, Slot::Param(p.name.as_deref().unwrap_or_default()))
        {
            out.insert(d.name.clone());
        }
    }
    if service == ServiceKind::Api {
        for d in results.iter().filter(|d| message(d)) {
            if let Some(r) = m
                .results
                .iter()
                .find(|r| r.name.as_deref().unwrap_or(&r.wire_name) == d.key)
                && always(&r.ty, Slot::Result(r.position))
            {
                out.insert(d.name.clone());
            }
        }
    }
    out
}

fn error_field(error: ErrorField) -> Option<Fixed> {
    Some((
        "$error".into(),
        error.field_name()?.into(),
        FieldType::message(error.message()?),
        vec!["Set when the call failed.".into()],
    ))
}

fn service_messages(
    ir: &Ir,
    mapper: &Mapper,
    service: &Service,
    errors: &mut Vec<String>,
) -> ((FileKind, ProtoService, Vec<DraftRpc>), Vec<DraftMessage>) {
    let (kind, name, comments) = match service.name {
        ServiceKind::Api => (
            FileKind::Api,
            "PluginAPI",
            vec!["The server's API, called by the plugin (Go: plugin.API).".to_string()],
        ),
        ServiceKind::Hooks => (
            FileKind::Hooks,
            "PluginHooks",
            vec!["The plugin's hooks, called by the server (Go: plugin.Hooks).".to_string()],
        ),
    };
    let mut rpcs = Vec::new();
    let mut messages = Vec::new();
    for m in &service.methods {
        match method_messages(ir, mapper, service.name, m, kind) {
            Ok((rpc, req, resp)) => {
                rpcs.push(rpc);
                messages.push(req);
                messages.push(resp);
            }
            Err(e) => errors.push(e),
        }
    }
    (
        (
            kind,
            ProtoService {
                name: name.into(),
                comments,
                rpcs: Vec::new(),
            },
            rpcs,
        ),
        messages,
    )
}

fn method_messages(
    ir: &Ir,
    mapper: &Mapper,
    service: ServiceKind,
    m: &Method,
    file: FileKind,
) -> Result<(DraftRpc, DraftMessage, DraftMessage), String> {
    let req_name = format!("{}Request", m.name);
    let resp_name = format!("{}Response", m.name);
    let mut req = DraftMessage {
        name: req_name.clone(),
        file,
        comments: vec![format!("Arguments of {}.", m.name)],
        fields: Vec::new(),
        fixed: Vec::new(),
        oneof: None,
        model: true,
        go: None,
    };
    let mut resp = DraftMessage {
        name: resp_name.clone(),
        file,
        comments: vec![format!("Results of {}.", m.name)],
        fields: Vec::new(),
        fixed: Vec::new(),
        oneof: None,
        model: true,
        go: None,
    };
    let (mut client_streaming, mut server_streaming) = (false, false);
    let is_stream_param = |p: &Param| crate::special::needs_special_case(&p.ty, false).is_some();

    let shape = match m.special {
        Some(special @ (Special::HttpStream | Special::PluginHttp)) => {
            client_streaming = true;
            server_streaming = true;
            // ServeHTTP/ServeMetrics carry the plugin context and can flush; plugin-to-plugin HTTP
            // has neither. The framing is otherwise the same.
            let hook = special == Special::HttpStream;
            req.comments = vec![format!(
                "One frame of the {} request: the first carries {}the head.",
                m.name,
                if hook { "context and " } else { "" }
            )];
            if hook {
                for p in m.params.iter().filter(|p| is_plugin_context(&p.ty)) {
                    req.fields.push(param_field(ir, mapper, m, p)?);
                }
            }
            let body_complete = || {
                fixed(
                    "body_complete",
                    FieldType::scalar(Scalar::Bool),
                    "Set on the frame that ends the body.",
                )
            };
            req.fixed.extend([
                fixed(
                    "head",
                    FieldType::message("HttpRequestHead"),
                    "First frame only.",
                ),
                fixed(
                    "body_chunk",
                    FieldType::scalar(Scalar::Bytes),
                    "At most 64 KiB.",
                ),
                body_complete(),
            ]);
            resp.comments = vec![format!(
                "One frame of the {} response: the first carries the head.",
                m.name
            )];
            resp.fixed.push(fixed(
                "head",
                FieldType::message("HttpResponseHead"),
                "First frame only.",
            ));
            resp.fixed.push(fixed(
                "body_chunk",
                FieldType::scalar(Scalar::Bytes),
                "At most 64 KiB.",
            ));
            if hook {
                resp.fixed.push(fixed(
                    "flush",
                    FieldType::scalar(Scalar::Bool),
                    "Flush what has been written so far to the client.",
                ));
            }
            resp.fixed.push(body_complete());
            if hook {
                RpcShape::ServeHttp
            } else {
                RpcShape::PluginHttp
            }
        }
        Some(Special::FileUploadStream) => {
            client_streaming = true;
            server_streaming = true;
            req.comments = vec![format!(
                "One frame of {}: the first carries the arguments, later ones the file.",
                m.name
            )];
            for p in m.params.iter().filter(|p| !is_stream_param(p)) {
                req.fields.push(param_field(ir, mapper, m, p)?);
            }
            req.fixed.extend([
                fixed(
                    "file_chunk",
                    FieldType::scalar(Scalar::Bytes),
                    "At most 64 KiB of the uploaded file.",
                ),
                fixed(
                    "file_complete",
                    FieldType::scalar(Scalar::Bool),
                    "Set on the frame that ends the file.",
                ),
            ]);
            resp.comments = vec![format!(
                "One frame of {}: replacement chunks, then the outcome.",
                m.name
            )];
            resp.fixed.push(fixed(
                "output_chunk",
                FieldType::scalar(Scalar::Bytes),
                "At most 64 KiB of the replacement file, when the plugin writes one.",
            ));
            resp.fields.extend(result_fields(
                ir,
                mapper,
                &Method {
                    special: Some(Special::ReplaceOrReject),
                    ..m.clone()
                },
            )?);
            resp.fixed.push(fixed(
                "complete",
                FieldType::scalar(Scalar::Bool),
                "Set on the last frame, which carries replacement and rejection_reason.",
            ));
            RpcShape::FileUpload
        }
        Some(Special::ReaderUpload) => {
            client_streaming = true;
            req.comments = vec![format!(
                "One frame of {}: the first carries the arguments, later ones the data.",
                m.name
            )];
            let mut upload = None;
            for p in &m.params {
                if is_stream_param(p) {
                    let base = p
                        .name
                        .as_deref()
                        .map(field_name)
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "data".into());
                    if upload.is_some() {
                        return Err(format!(
                            "{}: more than one byte stream parameter; one upload stream carries one",
                            m.name
                        ));
                    }
                    upload = Some(RpcShape::Upload {
                        chunk_field: format!("{base}_chunk"),
                        param: base.clone(),
                    });
                    req.fixed.push((
                        p.name.clone().unwrap_or_else(|| p.wire_name.clone()),
                        format!("{base}_chunk"),
                        FieldType::scalar(Scalar::Bytes),
                        vec![format!(
                            "Go: {} {} — at most 64 KiB per frame; the stream's end ends the data.",
                            p.name.as_deref().unwrap_or("_"),
                            p.ty.go_string()
                        )],
                    ));
                } else {
                    req.fields.push(param_field(ir, mapper, m, p)?);
                }
            }
            resp.fields.extend(result_fields(ir, mapper, m)?);
            upload
                .ok_or_else(|| format!("{}: an upload without a byte stream parameter", m.name))?
        }
        Some(Special::ConfigurationAsJson) => {
            let field = "configuration_json";
            resp.fixed.push(fixed(
                field,
                FieldType::scalar(Scalar::Bytes),
                "The plugin's configuration as a JSON object.",
            ));
            RpcShape::ConfigurationJson {
                field: field.into(),
            }
        }
        Some(Special::LogKeyValues) | Some(Special::ReplaceOrReject) | None => {
            for p in &m.params {
                req.fields.push(param_field(ir, mapper, m, p)?);
            }
            resp.fields.extend(result_fields(ir, mapper, m)?);
            RpcShape::Unary
        }
    };
    let required = required_fields(service, m, &req.fields, &resp.fields);
    for d in req.fields.iter_mut().chain(resp.fields.iter_mut()) {
        if required.contains(&d.name) {
            d.comments.push("Always set (never nil in Go).".into());
        }
    }
    let error = ErrorField::from(m.error);
    // Arguments and results are the mapped fields (never framing), plus the configuration.
    let carried = |d: &Draft| (d.wire != Wire::Omitted).then(|| d.name.clone());
    let arg_names: Vec<String> = req.fields.iter().filter_map(carried).collect();
    let positions: HashMap<String, usize> = req
        .fields
        .iter()
        .chain(&resp.fields)
        .filter_map(|d| Some((d.name.clone(), d.position?)))
        .collect();
    let mut result_names: Vec<String> = resp.fields.iter().filter_map(carried).collect();
    if let RpcShape::ConfigurationJson { field } = &shape {
        result_names.push(field.clone());
    }
    resp.fixed.extend(error_field(error));
    let rpc = ProtoRpc {
        name: m.name.clone(),
        request: req_name,
        response: resp_name,
        client_streaming,
        server_streaming,
        comments: method_comments(service, m),
        method: m.clone(),
        shape,
        args: Vec::new(),
        results: Vec::new(),
        error,
    };
    Ok((
        DraftRpc {
            rpc,
            arg_names,
            result_names,
            required,
            positions,
        },
        req,
        resp,
    ))
}

/// The rendered contract as the language emitters need it: compiled once.
pub struct Contract {
    /// The proto files compiled by protox (prost and protobuf code is built from these).
    pub descriptors: prost_types::FileDescriptorSet,
    /// A fingerprint of the proto text every target compiles in.
    pub hash: String,
}

impl Contract {
    pub fn new(proto: &[GeneratedFile]) -> Result<Contract, EmitError> {
        Ok(Contract {
            descriptors: compile_descriptors(proto)?,
            hash: contract_hash(proto),
        })
    }
}

/// FNV-1a over the proto files: a contract fingerprint every target compiles in, so two sides
/// built from different contracts can tell at start-up.
fn contract_hash(proto: &[GeneratedFile]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in proto {
        for b in f
            .path
            .bytes()
            .chain([0])
            .chain(f.contents.bytes())
            .chain([0])
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The contract compiled by protox, for emitters that embed descriptors.
fn compile_descriptors(
    proto: &[GeneratedFile],
) -> Result<prost_types::FileDescriptorSet, EmitError> {
    let err = |what: &str, e: &dyn std::fmt::Display| EmitError {
        messages: vec![format!("descriptors: {what}: {e}")],
    };
    let dir = tempfile::tempdir().map_err(|e| err("temporary directory", &e))?;
    let mut names = Vec::new();
    for f in proto {
        let rel = f
            .path
            .strip_prefix(&format!("{}/", crate::emit::proto::ROOT))
            .unwrap_or(&f.path);
        let path = dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| err("writing proto", &e))?;
        }
        std::fs::write(&path, &f.contents).map_err(|e| err("writing proto", &e))?;
        names.push(rel.to_string());
    }
    protox::compile(&names, [dir.path()]).map_err(|e| err("protox", &e))
}

/// The rpcs of one service in built proto files.
pub fn rpcs(schema: &[ProtoFile], service: ServiceKind) -> Option<&[ProtoRpc]> {
    let kind = match service {
        ServiceKind::Api => FileKind::Api,
        ServiceKind::Hooks => FileKind::Hooks,
    };
    schema
        .iter()
        .find(|f| f.kind == kind)
        .and_then(|f| f.services.first())
        .map(|s| s.rpcs.as_slice())
}
