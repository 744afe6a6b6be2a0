//! Emitters: each turns the IR into the files of one target.

pub mod enums;
pub mod gob;
pub mod hook_doc;
pub mod proto;
pub mod protocol;
pub mod python;
pub mod rust;

use std::fmt;

/// Every generated file for an IR, and the field-number lock after allocation.
pub fn all(
    ir: &crate::Ir,
    lock: &proto::FieldLock,
) -> Result<(Vec<GeneratedFile>, proto::FieldLock), EmitError> {
    let (schema, lock) = proto::build(ir, lock)?;
    let mut files = proto::render_all(ir, &schema)?;
    let contract = proto::Contract::new(&files)?;
    let crate_files = rust::emit(ir, &schema, &contract)?;
    let python_files = python::emit(ir, &schema, &contract)?;
    files.extend(crate_files);
    files.extend(python_files);
    files.extend(gob::emit(ir, &schema)?);
    Ok((files, lock))
}

/// One generated file, by path relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

/// Why an emitter could not map the IR: one line per problem, naming the Go item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitError {
    pub messages: Vec<String>,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.messages.join("\n"))
    }
}

impl std::error::Error for EmitError {}
