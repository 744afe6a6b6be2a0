//! What the generated code says about each hook, for the Python `Hook` members and the Rust
//! `PluginHooks` methods alike: facts from the IR and the contract only (the Go signature, the
//! minimum server version, the hook ID, what the server does for a plugin without the hook, the
//! error, and which arguments are always set). No upstream prose is copied.

use crate::emit::proto::{ErrorField, FieldType, ProtoField, ProtoRpc, ValueType};
use crate::ir::{HookDefault, Method, Special, TypeRef};

/// One hook's documentation: the Go signature, then one sentence per fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookDoc {
    /// The whole Go signature (`MessageWillBePosted(c *plugin.Context, post *model.Post) (*model.Post, string)`).
    pub signature: String,
    /// Each fact as one line of text, ending in a full stop; names and Go values in backticks.
    pub facts: Vec<String>,
}

impl HookDoc {
    pub fn new(rpc: &ProtoRpc) -> HookDoc {
        let m = &rpc.method;
        let mut facts = Vec::new();
        if let Some(v) = &m.min_server_version {
            facts.push(format!("Minimum server version: {v}."));
        }
        if let Some(id) = m.hook_id {
            facts.push(format!("Hook ID: {id}."));
        }
        if let Some(default) = not_implemented(m) {
            facts.push(format!("When not implemented: {default}"));
        }
        facts.push(
            match rpc.error {
                ErrorField::AppError => "Error: `*model.AppError`, in the response's `app_error`.",
                ErrorField::GoError => "Error: a Go `error`, in the response's `error`.",
                ErrorField::None => "Error: none (the Go hook returns no error).",
            }
            .to_string(),
        );
        let (always, maybe): (Vec<&ProtoField>, Vec<&ProtoField>) =
            rpc.args.iter().partition(|f| !may_be_absent(f));
        let names = |fields: &[&ProtoField]| {
            fields
                .iter()
                .map(|f| format!("`{}`", f.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let place = if rpc.shape.is_bidi() {
            " in the first frame"
        } else {
            ""
        };
        if !always.is_empty() {
            facts.push(format!("Always set{place}: {}.", names(&always)));
        }
        if !maybe.is_empty() {
            facts.push(format!("May be None{place}: {}.", names(&maybe)));
        }
        HookDoc {
            signature: m.go_signature(),
            facts,
        }
    }
}

/// Whether the server may leave an argument out: an optional scalar (a Go pointer to a scalar),
/// or a message the Go side may pass as nil. Scalars, lists and maps are always there (empty at
/// worst).
fn may_be_absent(f: &ProtoField) -> bool {
    match &f.ty {
        FieldType::Optional(_) => true,
        FieldType::Single(ValueType::Scalar(_)) => false,
        FieldType::Single(_) => !f.required,
        FieldType::Repeated(_) | FieldType::Map(..) => false,
    }
}

/// What the server does for a plugin without the hook, as a sentence.
fn not_implemented(m: &Method) -> Option<String> {
    let error = m.error != crate::ir::ErrorKind::None;
    Some(match m.hook_default? {
        HookDefault::NotFound => "the server answers 404 Not Found.".to_string(),
        HookDefault::ReturnParam(p) => {
            let name = m
                .params
                .get(p)
                .and_then(|p| p.name.as_deref())
                .map(crate::emit::proto::field_name)
                .unwrap_or_else(|| format!("parameter {p}"));
            if m.results.len() > 1 || error {
                format!(
                    "`{name}` comes back unchanged, with Go's zero values for the other results."
                )
            } else {
                format!("`{name}` comes back unchanged.")
            }
        }
        HookDefault::Zero => {
            let mut zeros: Vec<String> = m.results.iter().map(|r| zero(&r.ty)).collect();
            if error {
                zeros.push("a `nil` error".to_string());
            }
            let replace_or_reject = if m.special == Some(Special::ReplaceOrReject) {
                " (no replacement, no rejection)"
            } else {
                ""
            };
            match zeros.as_slice() {
                [] => "nothing happens (the hook returns nothing).".to_string(),
                [one] => format!("Go's zero value: {one}{replace_or_reject}."),
                [first @ .., last] => format!(
                    "Go's zero values: {} and {last}{replace_or_reject}.",
                    first.join(", ")
                ),
            }
        }
    })
}

/// A Go type's zero value, as the docs write it.
fn zero(ty: &TypeRef) -> String {
    match ty {
        TypeRef::Builtin(name) => match name.as_str() {
            "string" => "`\"\"`".to_string(),
            "bool" => "`false`".to_string(),
            "error" | "any" => "`nil`".to_string(),
            _ => "`0`".to_string(),
        },
        TypeRef::Pointer(_)
        | TypeRef::Slice(_)
        | TypeRef::Map { .. }
        | TypeRef::Chan { .. }
        | TypeRef::Func
        | TypeRef::Interface => "`nil`".to_string(),
        TypeRef::Named { .. }
        | TypeRef::External { .. }
        | TypeRef::TypeParam(_)
        | TypeRef::Array { .. } => format!("a zero `{}`", ty.go_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_values() {
        let b = |n: &str| TypeRef::Builtin(n.into());
        assert_eq!(zero(&b("string")), "`\"\"`");
        assert_eq!(zero(&b("int64")), "`0`");
        assert_eq!(zero(&b("bool")), "`false`");
        assert_eq!(zero(&TypeRef::Pointer(Box::new(b("string")))), "`nil`");
        assert_eq!(
            zero(&TypeRef::Named {
                package: "model".into(),
                name: "SyncResponse".into(),
                args: vec![]
            }),
            "a zero `model.SyncResponse`"
        );
    }

    /// The docs of a few hooks of the pinned release, one per kind of fact.
    #[test]
    fn pinned_release_hooks() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/ir.json");
        let ir = crate::Ir::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (schema, _) =
            crate::emit::proto::build(&ir, &crate::emit::proto::FieldLock::default()).unwrap();
        let rpcs = crate::emit::proto::rpcs(&schema, crate::ir::ServiceKind::Hooks).unwrap();
        let doc = |name: &str| {
            let rpc = rpcs.iter().find(|r| r.method.name == name).unwrap();
            let doc = HookDoc::new(rpc);
            assert_eq!(doc.signature, rpc.method.go_signature());
            doc.facts
        };
        let posted = doc("MessageWillBePosted");
        assert!(posted.contains(&"Hook ID: 5.".to_string()), "{posted:?}");
        assert!(
            posted
                .iter()
                .any(|f| f.starts_with("Minimum server version: "))
        );
        assert!(
            posted.contains(
                &"When not implemented: Go's zero values: `nil` and `\"\"` (no replacement, no rejection)."
                    .to_string()
            ),
            "{posted:?}"
        );
        assert!(posted.contains(&"Always set: `context`, `post`.".to_string()));
        assert!(posted.contains(&"Error: none (the Go hook returns no error).".to_string()));
        let joined = doc("UserHasJoinedChannel");
        assert!(
            joined.contains(&"May be None: `actor`.".to_string()),
            "{joined:?}"
        );
        let command = doc("ExecuteCommand");
        assert!(
            command
                .contains(&"Error: `*model.AppError`, in the response's `app_error`.".to_string())
        );
        let http = doc("ServeHTTP");
        assert!(
            http.contains(&"When not implemented: the server answers 404 Not Found.".to_string())
        );
        assert!(http.contains(&"Always set in the first frame: `context`.".to_string()));
        let upload = doc("FileWillBeUploaded");
        assert!(
            upload
                .iter()
                .any(|f| f.starts_with("When not implemented: `info` comes back unchanged"))
        );
        let activate = doc("OnActivate");
        assert!(
            activate.contains(&"When not implemented: Go's zero value: a `nil` error.".to_string())
        );
    }
}
