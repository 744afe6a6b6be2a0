//! The Python package `mattermost-plugin-api` (import `mattermost_plugin_api`) in
//! `generated/python/`.
//!
//! - `_pb/*_pb2.py`: protobuf modules built from the serialized descriptors (no protoc, no
//!   grpcio-tools), with `.pyi` stubs so the package type-checks;
//! - `models/`: a frozen, slotted, keyword-only dataclass per model message with lossless
//!   `from_proto` / `to_proto`, one module each, loaded on first use;
//! - `enums.py`: Go string enums as `str` enums (askama template `templates/python/enums.py`);
//! - `errors.py`: one exception hierarchy for AppError status codes, Go errors and transport
//!   failures;
//! - `client.py`: `PluginAPI` and `AsyncPluginAPI`, one method per API method, keyword arguments,
//!   dataclasses in and out;
//! - `hooks.py`: the hook names with their wire IDs and each hook's `HookSpec`;
//! - `api_specs.py`: each API method's `ApiSpec`, its messages seen from the server's side (a
//!   test host records and scripts any method with it);
//! - `protocol.py`: the protocol constants a plugin shares with its host (`emit::protocol`).
//!
//! Two kinds of files under `templates/python/` make it: [`STATIC_MODULES`] are plain Python,
//! copied as they are (ruff and `mypy --strict` check them in place), and askama templates render
//! the modules that follow the contract from the views in `views.rs`.

mod fields;
mod views;

use askama::Template;
use prost::Message;

use crate::emit::proto::{Contract, FileKind, ProtoFile};
use crate::emit::{EmitError, GeneratedFile};
use crate::ir::Ir;

pub const ROOT: &str = "generated/python";
pub const PACKAGE: &str = "mattermost_plugin_api";

/// A module whose code does not depend on the contract: a plain Python file under
/// `templates/python/`, copied into the package with the generated-file header.
pub struct StaticModule {
    /// The template, relative to the repository root.
    pub template: &'static str,
    /// Where it goes, relative to the package.
    pub path: &'static str,
    pub contents: &'static str,
}

macro_rules! static_module {
    ($file:literal => $path:literal) => {
        StaticModule {
            template: concat!("templates/python/", $file),
            path: $path,
            contents: include_str!(concat!("../../../../templates/python/", $file)),
        }
    };
}

/// The plain Python files of the package (the rest are askama templates).
pub const STATIC_MODULES: &[StaticModule] = &[
    static_module!("_pb_init.py" => "_pb/__init__.py"),
    static_module!("_pb_messages.py" => "_pb/_messages.py"),
    static_module!("_convert.py" => "models/_convert.py"),
    static_module!("errors.py" => "errors.py"),
    static_module!("_client_base.py" => "_client_base.py"),
    static_module!("_hook_spec.py" => "_hook_spec.py"),
    static_module!("_api_spec.py" => "_api_spec.py"),
];

#[derive(Template)]
#[template(path = "python/module.py", escape = "none")]
struct Module<'a> {
    source: &'a str,
    body: &'a str,
}

/// `enums.py`: the Go string enums.
#[derive(Template)]
#[template(path = "python/enums.py", escape = "none")]
struct EnumsModule<'a> {
    enums: &'a [crate::emit::enums::StringEnum],
}

/// `protocol.py`: the protocol constants (`crate::emit::protocol`) as `Final` names.
#[derive(Template)]
#[template(path = "python/protocol.py", escape = "none")]
struct ProtocolModule {
    /// Sorted by name, as ruff sorts `__all__`.
    names: Vec<&'static str>,
    constants: Vec<ProtocolConstant>,
}

struct ProtocolConstant {
    name: &'static str,
    annotation: &'static str,
    literal: String,
    /// The docstring's lines.
    doc: Vec<String>,
}

impl ProtocolModule {
    fn new() -> ProtocolModule {
        let table = crate::emit::protocol::CONSTANTS;
        let mut names: Vec<&'static str> = table.iter().map(|k| k.name).collect();
        names.sort_unstable();
        ProtocolModule {
            names,
            constants: table
                .iter()
                .map(|k| ProtocolConstant {
                    name: k.name,
                    annotation: k.value.python_type(),
                    literal: k.value.python_literal(),
                    doc: crate::emit::protocol::wrap(k.doc, 100),
                })
                .collect(),
        }
    }
}

/// `protocol.py` of the package, as `emit` writes it under a header naming `source`.
pub fn protocol_py(source: &str) -> Result<GeneratedFile, EmitError> {
    templated("protocol.py", source, &ProtocolModule::new())
}

/// A template's text, ending in one newline (askama drops the template file's last one).
fn render(template: &impl Template, path: &str) -> Result<String, EmitError> {
    let mut text = template.render().map_err(|e| EmitError {
        messages: vec![format!("python emitter: rendering {path}: {e}")],
    })?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

fn module(path: &str, source: &str, body: &str) -> Result<GeneratedFile, EmitError> {
    let contents = Module { source, body }.render().map_err(|e| EmitError {
        messages: vec![format!("python emitter: rendering {path}: {e}")],
    })?;
    Ok(GeneratedFile {
        path: format!("{ROOT}/{path}"),
        contents,
    })
}

/// A module of the package rendered from a template.
fn templated(
    path: &str,
    source: &str,
    template: &impl Template,
) -> Result<GeneratedFile, EmitError> {
    let path = format!("src/{PACKAGE}/{path}");
    module(&path, source, &render(template, &path)?)
}

/// The package's files.
pub fn emit(
    ir: &Ir,
    schema: &[ProtoFile],
    contract: &Contract,
) -> Result<Vec<GeneratedFile>, EmitError> {
    let source = format!("{}@{}", ir.source.module, ir.source.version);
    let src = format!("src/{PACKAGE}");
    let mut files = vec![GeneratedFile {
        path: format!("{ROOT}/pyproject.toml"),
        contents: render(&views::Pyproject { source: &source }, "pyproject.toml")?,
    }];
    files.push(GeneratedFile {
        path: format!("{ROOT}/{src}/py.typed"),
        contents: String::new(),
    });
    for m in STATIC_MODULES {
        files.push(module(&format!("{src}/{}", m.path), &source, m.contents)?);
    }
    for file in schema {
        let stem = file.kind.file_name().trim_end_matches(".proto");
        let descriptor = contract
            .descriptors
            .file
            .iter()
            .find(|f| f.name() == format!("{}/{}", crate::emit::proto::DIR, file.kind.file_name()))
            .ok_or_else(|| EmitError {
                messages: vec![format!("python emitter: no descriptor for {stem}")],
            })?;
        let mut descriptor = descriptor.clone();
        // Comments stay in the .proto; the runtime descriptor needs none.
        descriptor.source_code_info = None;
        files.push(templated(
            &format!("_pb/{stem}_pb2.py"),
            &source,
            &views::Pb2Module::new(file.kind, &descriptor.encode_to_vec()),
        )?);
        files.push(templated(
            &format!("_pb/{stem}_pb2.pyi"),
            &source,
            &views::Pb2Stub::new(file, schema),
        )?);
    }
    let model_messages: Vec<&crate::emit::proto::ProtoMessage> = schema
        .iter()
        .filter(|f| matches!(f.kind, FileKind::Common | FileKind::Model))
        .flat_map(|f| &f.messages)
        .filter(|m| m.model)
        .collect();
    let (classes, models_init) = views::models(schema, &model_messages)?;
    for (path, class) in &classes {
        files.push(templated(&format!("models/{path}"), &source, class)?);
    }
    files.push(templated("models/__init__.py", &source, &models_init)?);
    let enums = crate::emit::enums::string_enums(ir)?;
    let body = EnumsModule { enums: &enums }
        .render()
        .map_err(|e| EmitError {
            messages: vec![format!("python emitter: rendering enums.py: {e}")],
        })?;
    files.push(module(&format!("{src}/enums.py"), &source, &body)?);
    files.push(templated(
        "client.py",
        &source,
        &views::ClientModule::new(schema)?,
    )?);
    files.push(protocol_py(&source)?);
    files.push(templated(
        "api_specs.py",
        &source,
        &views::ApiSpecsModule::new(schema)?,
    )?);
    files.push(templated(
        "hooks.py",
        &source,
        &views::HooksModule::new(schema)?,
    )?);
    files.push(templated(
        "__init__.py",
        &source,
        &views::PackageInit {
            contract_hash: &contract.hash,
            version: &ir.source.version,
        },
    )?);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}
