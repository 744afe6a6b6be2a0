//! What changed between two IRs, in words a maintainer reads after `cargo xtask regen` or a
//! failed `cargo xtask check`.

use std::collections::BTreeMap;

use crate::ir::*;

/// One line per change, grouped by kind; empty when the IRs are equal.
pub fn changes(old: &Ir, new: &Ir) -> Vec<String> {
    let mut out = Vec::new();
    if old.source != new.source {
        out.push(format!(
            "source: {}@{} → {}@{}",
            old.source.module, old.source.version, new.source.module, new.source.version
        ));
    }
    for kind in [ServiceKind::Api, ServiceKind::Hooks] {
        let empty = Vec::new();
        let old_methods = old.service(kind).map(|s| &s.methods).unwrap_or(&empty);
        let new_methods = new.service(kind).map(|s| &s.methods).unwrap_or(&empty);
        let label = kind.go_name();
        keyed_changes(
            &mut out,
            label,
            old_methods.iter().map(|m| (m.name.clone(), m)).collect(),
            new_methods.iter().map(|m| (m.name.clone(), m)).collect(),
            signature,
        );
        let old_order: Vec<&str> = old_methods.iter().map(|m| m.name.as_str()).collect();
        let new_order: Vec<&str> = new_methods.iter().map(|m| m.name.as_str()).collect();
        let common_old: Vec<&&str> = old_order.iter().filter(|n| new_order.contains(n)).collect();
        let common_new: Vec<&&str> = new_order.iter().filter(|n| old_order.contains(n)).collect();
        if common_old != common_new {
            out.push(format!("{label}: method order changed"));
        }
        let old_retired = old.service(kind).map(|s| &s.retired_hook_ids);
        let new_retired = new.service(kind).map(|s| &s.retired_hook_ids);
        if old_retired != new_retired {
            out.push(format!("{label}: retired hook IDs changed"));
        }
    }
    keyed_changes(
        &mut out,
        "type",
        old.types.iter().map(|t| (t.qualified_name(), t)).collect(),
        new.types.iter().map(|t| (t.qualified_name(), t)).collect(),
        |t| serde_json::to_string(t).unwrap_or_default(),
    );
    keyed_changes(
        &mut out,
        "external",
        old.externals
            .iter()
            .map(|e| (format!("{} ({})", e.go_string(), e.path), e))
            .collect(),
        new.externals
            .iter()
            .map(|e| (format!("{} ({})", e.go_string(), e.path), e))
            .collect(),
        |e| format!("{:?}", e.mapping),
    );
    out
}

fn keyed_changes<T: PartialEq>(
    out: &mut Vec<String>,
    label: &str,
    old: BTreeMap<String, &T>,
    new: BTreeMap<String, &T>,
    describe: impl Fn(&T) -> String,
) {
    for (name, item) in &new {
        match old.get(name) {
            None => out.push(format!("{label} added: {name}")),
            Some(prev) if *prev != *item => {
                let (a, b) = (describe(prev), describe(item));
                if a == b {
                    out.push(format!("{label} changed: {name}"));
                } else {
                    out.push(format!(
                        "{label} changed: {name}\n    was: {a}\n    now: {b}"
                    ));
                }
            }
            Some(_) => {}
        }
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        out.push(format!("{label} removed: {name}"));
    }
}

/// `GetUser(userID string) (*model.User, *model.AppError)`-style text of a method.
pub fn signature(m: &Method) -> String {
    let mut s = go_signature(m);
    append_facts(m, &mut s);
    s
}

/// The Go signature alone, as a Go programmer writes it: `KVSet(key string, value []byte) *model.AppError`.
pub fn go_signature(m: &Method) -> String {
    let params: Vec<String> = m
        .params
        .iter()
        .map(|p| {
            let ty = match (&p.ty, p.variadic) {
                (TypeRef::Slice(elem), true) => format!("...{}", elem.go_string()),
                (t, _) => t.go_string(),
            };
            match &p.name {
                Some(n) => format!("{n} {ty}"),
                None => ty,
            }
        })
        .collect();
    let mut results: Vec<String> = m.results.iter().map(|r| r.ty.go_string()).collect();
    match m.error {
        ErrorKind::None => {}
        ErrorKind::Error => results.push("error".into()),
        ErrorKind::AppError => results.push("*model.AppError".into()),
    }
    let results = match results.len() {
        0 => String::new(),
        1 => format!(" {}", results[0]),
        _ => format!(" ({})", results.join(", ")),
    };
    format!("{}({}){}", m.name, params.join(", "), results)
}

/// The IR facts [`signature`] lists after the Go signature, each in brackets.
fn append_facts(m: &Method, s: &mut String) {
    if let Some(v) = &m.min_server_version {
        s.push_str(&format!(" [min {v}]"));
    }
    if !m.tags.is_empty() {
        s.push_str(&format!(" [tags {}]", m.tags.join(",")));
    }
    if let Some(id) = m.hook_id {
        s.push_str(&format!(" [id {id}]"));
    }
    if let Some(case) = m.special {
        s.push_str(&format!(" [{case:?}]"));
    }
    if let Some(default) = m.hook_default {
        s.push_str(&format!(" [default {default:?}]"));
    }
}
