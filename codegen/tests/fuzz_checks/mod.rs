//! The front-end on mutated Go source: whatever the bytes, `parse_with` returns an IR or
//! diagnostics that each point at a real `file:line:col`; it never panics.
//!
//! Shared by the bounded property tests (`tests/fuzz_props.rs`) and the cargo-fuzz target
//! (`fuzz/fuzz_targets/codegen_front_end.rs`), which include this file by path and must also
//! include `tests/common/mod.rs` as `crate::common`.

use std::sync::OnceLock;

use codegen::ir::SourceInfo;
use codegen::source::{MODULE_PATH, SourceSet};
use codegen::special::SpecialCases;

/// One byte-level edit. Positions are taken modulo the text length when applied, so any value is
/// meaningful.
#[derive(Debug, Clone)]
pub enum Mutation {
    Delete {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Replace {
        at: usize,
        bytes: Vec<u8>,
    },
    /// Swaps two tokens (identifier runs or single punctuation bytes), chosen by index.
    SwapTokens {
        a: usize,
        b: usize,
    },
}

/// Which file of a source set to edit, and how.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: usize,
    pub mutations: Vec<Mutation>,
}

/// Go fragments worth inserting: they change the structure the front-end walks.
pub const GO_FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "*",
    ",",
    ";",
    "\n",
    ".",
    "...",
    "<-",
    "=",
    "`",
    "\"",
    "//",
    "/*",
    "*/",
    "func",
    "type",
    "interface",
    "struct",
    "map[",
    "chan",
    "package",
    "import",
    "const",
    "iota",
    "ID",
    "model.",
    "error",
    "any",
    "~",
    "|",
    "json:\"x,omitempty\"",
    "\u{0}",
    "é",
    "\u{feff}",
];

fn token_spans(text: &[u8]) -> Vec<(usize, usize)> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut spans = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i].is_ascii_whitespace() {
            i += 1;
        } else if word(text[i]) {
            let start = i;
            while i < text.len() && word(text[i]) {
                i += 1;
            }
            spans.push((start, i));
        } else {
            spans.push((i, i + 1));
            i += 1;
        }
    }
    spans
}

impl Mutation {
    pub fn apply(&self, text: &mut Vec<u8>) {
        let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
        match self {
            Mutation::Delete { at, len } => {
                let start = pos(*at, text.len());
                let end = start.saturating_add(*len).min(text.len());
                text.drain(start..end);
            }
            Mutation::Insert { at, bytes } => {
                let at = pos(*at, text.len());
                text.splice(at..at, bytes.iter().copied());
            }
            Mutation::Replace { at, bytes } => {
                let start = pos(*at, text.len());
                let end = start.saturating_add(bytes.len()).min(text.len());
                text.splice(start..end, bytes.iter().copied());
            }
            Mutation::SwapTokens { a, b } => {
                let spans = token_spans(text);
                if spans.len() < 2 {
                    return;
                }
                let (i, j) = (a % spans.len(), b % spans.len());
                let (first, second) = (spans[i.min(j)], spans[i.max(j)]);
                if first == second {
                    return;
                }
                let mut out = Vec::with_capacity(text.len());
                out.extend_from_slice(&text[..first.0]);
                out.extend_from_slice(&text[second.0..second.1]);
                out.extend_from_slice(&text[first.1..second.0]);
                out.extend_from_slice(&text[first.0..first.1]);
                out.extend_from_slice(&text[second.1..]);
                *text = out;
            }
        }
    }
}

impl Case {
    /// A case from raw fuzzer bytes: a small, total decoding (every input is some case).
    pub fn decode(data: &[u8]) -> Case {
        let mut bytes = data.iter().copied();
        let mut next = || bytes.next().unwrap_or(0);
        let file = next() as usize;
        let count = 1 + next() as usize % 8;
        let mut mutations = Vec::with_capacity(count);
        for _ in 0..count {
            let op = next();
            let at = u32::from_le_bytes([next(), next(), next(), 0]) as usize;
            let mutation = match op % 5 {
                0 => Mutation::Delete {
                    at,
                    len: next() as usize % 64,
                },
                1 => {
                    let fragment = GO_FRAGMENTS[next() as usize % GO_FRAGMENTS.len()];
                    Mutation::Insert {
                        at,
                        bytes: fragment.as_bytes().to_vec(),
                    }
                }
                2 => {
                    let len = next() as usize % 8;
                    Mutation::Insert {
                        at,
                        bytes: (0..len).map(|_| next()).collect(),
                    }
                }
                3 => {
                    let len = 1 + next() as usize % 8;
                    Mutation::Replace {
                        at,
                        bytes: (0..len).map(|_| next()).collect(),
                    }
                }
                _ => Mutation::SwapTokens {
                    a: at,
                    b: u16::from_le_bytes([next(), next()]) as usize,
                },
            };
            mutations.push(mutation);
        }
        Case { file, mutations }
    }

    /// `set` with this case's file edited. Invalid UTF-8 becomes U+FFFD, as a source reader that
    /// accepted the file would have to do.
    pub fn apply(&self, set: &SourceSet) -> SourceSet {
        let mut set = set.clone();
        if set.files.is_empty() {
            return set;
        }
        let index = self.file % set.files.len();
        let mut text = std::mem::take(&mut set.files[index].text).into_bytes();
        for m in &self.mutations {
            m.apply(&mut text);
        }
        set.files[index].text = String::from_utf8_lossy(&text).into_owned();
        set
    }
}

fn info() -> SourceInfo {
    SourceInfo {
        module: MODULE_PATH.into(),
        version: "fuzz".into(),
    }
}

/// Parses `set`; a failure must be diagnostics that each name a file of the set (or, for a
/// missing declaration, its package directory) and a line and column inside that file.
pub fn check(set: &SourceSet, special: SpecialCases) {
    match codegen::parse::parse_with(set, info(), special) {
        Ok(ir) => {
            let _ = ir.to_json();
        }
        Err(error) => {
            assert!(
                !error.diagnostics.is_empty(),
                "an error without diagnostics"
            );
            for d in &error.diagnostics {
                assert_located(set, d);
            }
        }
    }
}

fn assert_located(set: &SourceSet, d: &codegen::parse::Diagnostic) {
    let shown = d.to_string();
    assert!(
        shown.starts_with(&format!("{}:{}:{}: ", d.file, d.line, d.col)) && !d.message.is_empty(),
        "not a file:line:col diagnostic: {shown:?}"
    );
    let Some(file) = set.files.iter().find(|f| f.path == d.file) else {
        // A declaration that no file has is reported against its package.
        assert!(
            ["plugin/", "model/"].contains(&d.file.as_str()),
            "diagnostic names a file outside the set: {shown:?}"
        );
        assert_eq!((d.line, d.col), (1, 1), "{shown:?}");
        return;
    };
    // Lines are split on '\n' only, as tree-sitter counts them; columns are one-based bytes.
    let lines: Vec<&str> = file.text.split('\n').collect();
    assert!(
        d.line >= 1 && d.line <= lines.len(),
        "line out of range ({} lines): {shown:?}",
        lines.len()
    );
    let line_len = lines[d.line - 1].len();
    assert!(
        d.col >= 1 && d.col <= line_len + 1,
        "column out of range (line has {line_len} bytes): {shown:?}"
    );
}

/// The hand-written fixture every front-end test uses.
pub fn fixture() -> &'static SourceSet {
    static SET: OnceLock<SourceSet> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = crate::common::workspace_root().join("codegen/tests/fixtures/shapes");
        SourceSet::from_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The real files mutated, from the pinned module.
pub const REAL_FILES: &[&str] = &[
    "plugin/api.go",
    "plugin/hooks.go",
    "plugin/context.go",
    "model/manifest.go",
    "model/post.go",
];

/// The whole pinned module (downloaded through `go mod download` on first use).
pub fn pinned_module() -> &'static SourceSet {
    static SET: OnceLock<SourceSet> = OnceLock::new();
    SET.get_or_init(|| {
        let spec = std::fs::read_to_string(crate::common::workspace_root().join("spec/ir.json"))
            .expect("spec/ir.json exists");
        let version = codegen::Ir::from_json(&spec)
            .expect("spec/ir.json parses")
            .source
            .version;
        let dir = codegen::source::download_module(&version).unwrap_or_else(|e| panic!("{e}"));
        SourceSet::from_dir(&dir).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// [`REAL_FILES`] alone: small enough to parse many times (types they use from other files come
/// out as located "unknown type" diagnostics, which is part of what is checked).
pub fn real_files() -> &'static SourceSet {
    static SET: OnceLock<SourceSet> = OnceLock::new();
    SET.get_or_init(|| {
        let module = pinned_module();
        let files = REAL_FILES.iter().map(|path| {
            let file = module
                .files
                .iter()
                .find(|f| f.path == *path)
                .unwrap_or_else(|| panic!("{path} is not in the pinned module"));
            (file.path.clone(), file.text.clone())
        });
        SourceSet::from_memory(files)
    })
}
