//! Located errors: every problem the front-end reports names `file:line:col`.

use std::fmt;

use tree_sitter::Node;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// One-based.
    pub line: usize,
    /// One-based, in bytes.
    pub col: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn at(file: &str, node: Node, message: impl Into<String>) -> Self {
        let p = node.start_position();
        Diagnostic {
            file: file.to_string(),
            line: p.row + 1,
            col: p.column + 1,
            message: message.into(),
        }
    }

    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: 1,
            col: 1,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Everything that stopped a parse, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// The first ERROR or MISSING node under `node`, described for a human.
pub fn first_syntax_error(file: &str, text: &str, node: Node) -> Option<Diagnostic> {
    if node.is_missing() {
        return Some(Diagnostic::at(
            file,
            node,
            format!("syntax error: missing `{}`", node.kind()),
        ));
    }
    if node.is_error() {
        let snippet: String = node
            .utf8_text(text.as_bytes())
            .unwrap_or("")
            .chars()
            .take(40)
            .collect();
        let snippet = snippet.lines().next().unwrap_or("").trim();
        return Some(Diagnostic::at(
            file,
            node,
            format!("syntax error: unexpected `{snippet}`"),
        ));
    }
    if !node.has_error() {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<Node> = node.children(&mut cursor).collect();
    children
        .into_iter()
        .find_map(|c| first_syntax_error(file, text, c))
}
