//! Emitters: each turns the IR into the files of one target.

pub mod proto;

use std::fmt;

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
