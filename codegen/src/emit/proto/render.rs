//! Renders a proto file with `templates/proto/file.proto`.

use askama::Template;

use super::{FileKind, PACKAGE, ProtoFile, ProtoMessage, ProtoService};
use crate::emit::EmitError;

#[derive(Template)]
#[template(path = "proto/file.proto", escape = "none")]
struct FileTemplate<'a> {
    source: &'a str,
    purpose: &'a str,
    package: &'a str,
    imports: &'a [String],
    services: &'a [ProtoService],
    messages: &'a [ProtoMessage],
}

pub fn render(file: &ProtoFile, source: &str) -> Result<String, EmitError> {
    let purpose = match file.kind {
        FileKind::Common => "Shared messages: errors, plugin context, HTTP framing.",
        FileKind::Model => "Mattermost's model types reachable from the plugin API and hooks.",
        FileKind::Api => "The API a plugin calls on the server.",
        FileKind::Hooks => "The hooks the server calls on a plugin.",
    };
    let t = FileTemplate {
        source,
        purpose,
        package: PACKAGE,
        imports: &file.imports,
        services: &file.services,
        messages: &file.messages,
    };
    let mut text = t.render().map_err(|e| EmitError {
        messages: vec![format!("rendering {}: {e}", file.kind.file_name())],
    })?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}
