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
            Method::summary,
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
    let old_types: BTreeMap<String, &TypeDecl> =
        old.types.iter().map(|t| (t.qualified_name(), t)).collect();
    let new_types: BTreeMap<String, &TypeDecl> =
        new.types.iter().map(|t| (t.qualified_name(), t)).collect();
    for (name, t) in &new_types {
        match old_types.get(name) {
            None => out.push(format!("type added: {name}")),
            Some(prev) if *prev != *t => {
                let inside = type_changes(prev, t);
                if !inside.is_empty() {
                    let mut lines = vec![format!("type changed: {name}")];
                    lines.extend(inside.into_iter().map(|l| format!("    {l}")));
                    out.push(lines.join("\n"));
                }
            }
            Some(_) => {}
        }
    }
    for name in old_types.keys().filter(|n| !new_types.contains_key(*n)) {
        out.push(format!("type removed: {name}"));
    }
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

/// What changed inside one type, a line each: fields added, removed or retyped, tags, enum
/// values, the underlying type; never the whole definition twice.
fn type_changes(old: &TypeDecl, new: &TypeDecl) -> Vec<String> {
    let mut out = Vec::new();
    if old.file != new.file {
        out.push(format!("moved from {} to {}", old.file, new.file));
    }
    if old.type_params != new.type_params {
        out.push("type parameters changed".to_string());
    }
    match (&old.kind, &new.kind) {
        (
            TypeKind::Struct {
                fields: old_fields,
                skipped: old_skipped,
            },
            TypeKind::Struct {
                fields: new_fields,
                skipped: new_skipped,
            },
        ) => {
            let before: BTreeMap<&str, &Field> =
                old_fields.iter().map(|f| (f.name.as_str(), f)).collect();
            let after: BTreeMap<&str, &Field> =
                new_fields.iter().map(|f| (f.name.as_str(), f)).collect();
            for f in new_fields {
                match before.get(f.name.as_str()) {
                    None => out.push(format!("field added: {} {}", f.name, f.ty.go_string())),
                    Some(prev) if prev.ty != f.ty => out.push(format!(
                        "field retyped: {} {} → {}",
                        f.name,
                        prev.ty.go_string(),
                        f.ty.go_string()
                    )),
                    Some(prev) if prev.known_values != f.known_values => {
                        out.extend(known_value_changes(prev, f))
                    }
                    Some(prev) if *prev != f => out.push(format!(
                        "field tag changed: {} (json {:?} → {:?})",
                        f.name, prev.json_name, f.json_name
                    )),
                    Some(_) => {}
                }
            }
            for f in old_fields
                .iter()
                .filter(|f| !after.contains_key(f.name.as_str()))
            {
                out.push(format!("field removed: {} {}", f.name, f.ty.go_string()));
            }
            let old_order: Vec<&str> = old_fields
                .iter()
                .map(|f| f.name.as_str())
                .filter(|n| after.contains_key(n))
                .collect();
            let new_order: Vec<&str> = new_fields
                .iter()
                .map(|f| f.name.as_str())
                .filter(|n| before.contains_key(n))
                .collect();
            if old_order != new_order {
                out.push("field order changed".to_string());
            }
            if old_skipped != new_skipped {
                out.push("left-out fields changed".to_string());
            }
        }
        (
            TypeKind::Named {
                underlying: old_under,
                enum_values: old_values,
            },
            TypeKind::Named {
                underlying: new_under,
                enum_values: new_values,
            },
        ) => {
            if old_under != new_under {
                out.push(format!(
                    "underlying type: {} → {}",
                    old_under.go_string(),
                    new_under.go_string()
                ));
            }
            for v in new_values.iter().filter(|v| !old_values.contains(v)) {
                out.push(format!("enum value added: {} = {:?}", v.name, v.value));
            }
            for v in old_values.iter().filter(|v| !new_values.contains(v)) {
                out.push(format!("enum value removed: {} = {:?}", v.name, v.value));
            }
        }
        (TypeKind::Alias { target: a }, TypeKind::Alias { target: b }) if a != b => {
            out.push(format!(
                "alias target: {} → {}",
                a.go_string(),
                b.go_string()
            ));
        }
        (a, b) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
            out.push(format!("kind: {} → {}", kind_word(a), kind_word(b)));
        }
        _ => {}
    }
    if out.is_empty() && without_locations(old) != without_locations(new) {
        out.push("changed".to_string());
    }
    out
}

/// A type with the source locations of its known values blanked: constants that only moved are
/// not an API change.
fn without_locations(decl: &TypeDecl) -> TypeDecl {
    let mut decl = decl.clone();
    if let TypeKind::Struct { fields, .. } = &mut decl.kind {
        for known in fields.iter_mut().filter_map(|f| f.known_values.as_mut()) {
            for v in &mut known.values {
                v.file.clear();
                v.line = 0;
            }
        }
    }
    decl
}

/// What changed in a field's known values (untyped constants): values added or removed, or the
/// prefix. Where they are declared is not an API change and is not listed.
fn known_value_changes(old: &Field, new: &Field) -> Vec<String> {
    let pairs = |f: &Field| -> Vec<(String, String)> {
        let values = f.known_values.iter().flat_map(|k| &k.values);
        values.map(|v| (v.name.clone(), v.value.clone())).collect()
    };
    let (before, after) = (pairs(old), pairs(new));
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (&old.known_values, &new.known_values) {
        if a.prefix != b.prefix {
            out.push(format!(
                "known values of {}: prefix {} → {}",
                new.name, a.prefix, b.prefix
            ));
        }
    }
    for (name, value) in after.iter().filter(|p| !before.contains(p)) {
        out.push(format!(
            "known value added: {}: {name} = {value:?}",
            new.name
        ));
    }
    for (name, value) in before.iter().filter(|p| !after.contains(p)) {
        out.push(format!(
            "known value removed: {}: {name} = {value:?}",
            new.name
        ));
    }
    // Same values declared elsewhere (file, line or order) is not a change of the API.
    out
}

fn kind_word(kind: &TypeKind) -> &'static str {
    match kind {
        TypeKind::Struct { .. } => "struct",
        TypeKind::Named { .. } => "named type",
        TypeKind::Interface => "interface",
        TypeKind::Alias { .. } => "alias",
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned() -> Ir {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/ir.json");
        Ir::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn a_changed_type_lists_what_changed_inside_it() {
        let old = pinned();
        let mut new = old.clone();
        for t in &mut new.types {
            match (t.qualified_name().as_str(), &mut t.kind) {
                ("model.Post", TypeKind::Struct { fields, .. }) => {
                    let mut added = fields[0].clone();
                    added.name = "Pinned2".into();
                    added.json_name = Some("pinned2".into());
                    added.ty = TypeRef::Builtin("bool".into());
                    fields.push(added);
                    fields.retain(|f| f.name != "Hashtags");
                    if let Some(f) = fields.iter_mut().find(|f| f.name == "Message") {
                        f.ty = TypeRef::Builtin("int64".into());
                    }
                }
                ("model.ChannelType", TypeKind::Named { enum_values, .. }) => {
                    enum_values.push(EnumValue {
                        name: "ChannelTypeFuture".into(),
                        value: "F".into(),
                    });
                }
                _ => {}
            }
        }
        let changes = changes(&old, &new);
        let text = changes.join("\n");
        assert_eq!(changes.len(), 2, "{text}");
        let post = changes
            .iter()
            .find(|c| c.starts_with("type changed: model.Post\n"))
            .unwrap_or_else(|| panic!("{text}"));
        let lines: Vec<&str> = post.lines().skip(1).map(str::trim).collect();
        assert_eq!(
            lines,
            [
                "field retyped: Message string → int64",
                "field added: Pinned2 bool",
                "field removed: Hashtags string"
            ],
            "{text}"
        );
        assert!(
            text.contains(
                "type changed: model.ChannelType\n    enum value added: ChannelTypeFuture = \"F\""
            ),
            "{text}"
        );
        assert!(!text.contains("{\""), "no definition printed whole: {text}");
    }
}
