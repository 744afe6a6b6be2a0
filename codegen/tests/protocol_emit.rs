//! The protocol constants: the Rust crate's `src/protocol.rs` and the Python package's
//! `protocol.py` carry the same names with the same values, those of the generator's table, and
//! both are snapshotted.

mod common;

use std::collections::BTreeMap;

use codegen::emit::proto::FieldLock;
use codegen::emit::protocol::{CONSTANTS, Value};
use common::*;

/// A constant's value as both files can state it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Parsed {
    Str(String),
    Int(u64),
}

/// `pub const NAME: T = literal;` items of the Rust file, with their types.
fn rust_constants(source: &str) -> BTreeMap<String, (String, Parsed)> {
    let file = syn::parse_file(source).expect("protocol.rs parses");
    let mut out = BTreeMap::new();
    for item in file.items {
        let syn::Item::Const(c) = item else {
            panic!("protocol.rs holds only constants");
        };
        assert!(
            matches!(c.vis, syn::Visibility::Public(_)),
            "{} is pub",
            c.ident
        );
        assert!(
            c.attrs.iter().any(|a| a.path().is_ident("doc")),
            "{} is documented",
            c.ident
        );
        let ty = c.ty.as_ref();
        let ty = quote::quote!(#ty).to_string().replace(' ', "");
        let syn::Expr::Lit(syn::ExprLit { lit, .. }) = c.expr.as_ref() else {
            panic!("{}: a literal", c.ident);
        };
        let value = match lit {
            syn::Lit::Str(s) => Parsed::Str(s.value()),
            syn::Lit::Int(i) => Parsed::Int(i.base10_parse().unwrap()),
            _ => panic!("{}: a string or integer literal", c.ident),
        };
        assert!(
            out.insert(c.ident.to_string(), (ty, value)).is_none(),
            "{} twice",
            c.ident
        );
    }
    out
}

/// `NAME: Final[T] = literal` lines of the Python file, each followed by its docstring, and
/// `__all__`.
fn python_constants(source: &str) -> (BTreeMap<String, (String, Parsed)>, Vec<String>) {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = source.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some((name, rest)) = line.split_once(": Final[") else {
            continue;
        };
        let (ty, literal) = rest.split_once("] = ").expect("NAME: Final[T] = value");
        let value = match ty {
            "str" => Parsed::Str(serde_json::from_str(literal).expect("a string literal")),
            "int" => Parsed::Int(literal.parse().expect("an int literal")),
            other => panic!("{name}: Final[{other}]"),
        };
        assert!(
            lines.get(i + 1).is_some_and(|l| l.starts_with("\"\"\"")),
            "{name} has a docstring"
        );
        assert!(
            out.insert(name.to_string(), (ty.to_string(), value))
                .is_none(),
            "{name} twice"
        );
    }
    let all_start = source.find("__all__ = [").expect("__all__");
    let all_end = all_start + source[all_start..].find(']').unwrap();
    let all = source[all_start + "__all__ = [".len()..all_end]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (out, all)
}

#[test]
fn both_languages_carry_the_same_constants() {
    let ir = parse_fixture("shapes");
    let (schema, _) = codegen::emit::proto::build(&ir, &FieldLock::default()).unwrap();
    let proto = codegen::emit::proto::render_all(&ir, &schema).unwrap();
    let contract = codegen::emit::proto::Contract::new(&proto).unwrap();
    let rust = codegen::emit::rust::emit(&ir, &schema, &contract).unwrap();
    let python = codegen::emit::python::emit(&ir, &schema, &contract).unwrap();
    let lib = rust
        .iter()
        .find(|f| f.path == "generated/rust/src/lib.rs")
        .unwrap();
    assert!(
        lib.contents.contains("pub mod protocol;"),
        "lib.rs exports protocol"
    );
    let rust = rust
        .iter()
        .find(|f| f.path == "generated/rust/src/protocol.rs")
        .expect("the crate has src/protocol.rs");
    let python = python
        .iter()
        .find(|f| f.path == "generated/python/src/mattermost_plugin_api/protocol.py")
        .expect("the package has protocol.py");

    let rust_consts = rust_constants(&rust.contents);
    let (python_consts, all) = python_constants(&python.contents);

    let table: BTreeMap<String, Parsed> = CONSTANTS
        .iter()
        .map(|k| {
            let value = match k.value {
                Value::Str(s) => Parsed::Str(s.to_string()),
                Value::U32(n) => Parsed::Int(n.into()),
                Value::Usize(n) => Parsed::Int(n as u64),
            };
            (k.name.to_string(), value)
        })
        .collect();
    let values = |m: &BTreeMap<String, (String, Parsed)>| -> BTreeMap<String, Parsed> {
        m.iter().map(|(k, (_, v))| (k.clone(), v.clone())).collect()
    };
    assert_eq!(
        values(&rust_consts),
        values(&python_consts),
        "Rust and Python agree"
    );
    assert_eq!(values(&rust_consts), table, "both are the table");
    // Each language's type fits the value.
    for (name, (rust_ty, value)) in &rust_consts {
        let python_ty = &python_consts[name].0;
        match value {
            Parsed::Str(_) => assert_eq!(
                (rust_ty.as_str(), python_ty.as_str()),
                ("&str", "str"),
                "{name}"
            ),
            Parsed::Int(_) => {
                assert!(
                    ["u32", "usize"].contains(&rust_ty.as_str()),
                    "{name}: {rust_ty}"
                );
                assert_eq!(python_ty, "int", "{name}");
            }
        }
    }
    let mut sorted: Vec<String> = table.keys().cloned().collect();
    sorted.sort();
    assert_eq!(all, sorted, "__all__ lists every constant, sorted");

    // The values that must not drift from what Mattermost's servers and go-plugin expect.
    assert_eq!(
        table["MAGIC_COOKIE_KEY"],
        Parsed::Str("MATTERMOST_PLUGIN".into())
    );
    assert_eq!(table["MAX_CHUNK"], Parsed::Int(64 * 1024));

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!("protocol__rust", rust.contents);
        insta::assert_snapshot!("protocol__python", python.contents);
    });
}
