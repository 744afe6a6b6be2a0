//! Go string enums as every language spells them: the string types with their constants
//! (`type ChannelType string`, `ChannelTypeOpen`) and the untyped constants that list a `string`
//! field's values (`PostTypeJoinChannel` for `Post.Type`, the IR's `known_values`). One view built
//! from the IR, rendered by the Python and Rust emitters.

use std::collections::BTreeMap;

use crate::emit::EmitError;
use crate::ir::{Ir, KnownValues, TypeKind};

/// One set of Go string constants under one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringEnum {
    /// Go package (`model`).
    pub package: String,
    /// The Go type name (`ChannelType`), or the constants' shared prefix (`PostType`); also the
    /// Python class name.
    pub name: String,
    /// Snake-case name (`channel_type`), the Rust module name.
    pub snake: String,
    /// Where the values come from, as docs say it: `` `model.ChannelType` ``, or
    /// `` untyped constants `model.PostType*`, the values of `model.Post.Type` ``.
    pub origin: String,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Upper snake case, the type's name dropped when the constant starts with it:
    /// `ChannelTypeOpen` of `ChannelType` → `OPEN`; `EventFlagged` → `EVENT_FLAGGED`.
    pub name: String,
    /// The Go constant (`ChannelTypeOpen`).
    pub go: String,
    pub value: String,
    /// `value` as a JSON string literal, which is also a valid Python and Rust string literal.
    pub literal: String,
}

/// Every string enum of the IR, sorted by package and name: the string types, then merged in,
/// each prefix of known values once (with every field it describes). Two enums with one name (or
/// one snake-case name), or one prefix with different values on two fields, is an error.
pub fn string_enums(ir: &Ir) -> Result<Vec<StringEnum>, EmitError> {
    let mut out: Vec<StringEnum> = ir
        .types
        .iter()
        .filter_map(|t| match &t.kind {
            TypeKind::Named { enum_values, .. } if !enum_values.is_empty() => Some(StringEnum {
                package: t.package.clone(),
                name: t.name.clone(),
                snake: crate::naming::snake(&t.name),
                origin: format!("`{}`", t.qualified_name()),
                members: members(&t.name, enum_values),
            }),
            _ => None,
        })
        .collect();
    let mut messages = Vec::new();
    // (package, prefix) → the values and the fields (`model.Post.Type`) they describe.
    let mut known: BTreeMap<(&str, &str), (&KnownValues, Vec<String>)> = BTreeMap::new();
    for t in &ir.types {
        let TypeKind::Struct { fields, .. } = &t.kind else {
            continue;
        };
        for f in fields {
            let Some(k) = &f.known_values else { continue };
            let field = format!("{}.{}", t.qualified_name(), f.name);
            let entry = known
                .entry((t.package.as_str(), k.prefix.as_str()))
                .or_insert((k, Vec::new()));
            if entry.0.values != k.values {
                messages.push(format!(
                    "enums: `{field}` and `{}` list different values under the prefix `{}`",
                    entry.1[0], k.prefix
                ));
            }
            entry.1.push(field);
        }
    }
    for ((package, prefix), (k, fields)) in known {
        let values: Vec<crate::ir::EnumValue> = k
            .values
            .iter()
            .map(|v| crate::ir::EnumValue {
                name: v.name.clone(),
                value: v.value.clone(),
            })
            .collect();
        let fields: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
        out.push(StringEnum {
            package: package.to_string(),
            name: prefix.to_string(),
            snake: crate::naming::snake(prefix),
            origin: format!(
                "untyped constants `{package}.{prefix}*`, the values of {}",
                fields.join(", ")
            ),
            members: members(prefix, &values),
        });
    }
    out.sort_by(|a, b| (&a.package, &a.name).cmp(&(&b.package, &b.name)));
    // Every enum lands in one Python module and one Rust module, whatever its package.
    let mut names: BTreeMap<&str, &StringEnum> = BTreeMap::new();
    let mut snakes: BTreeMap<&str, &StringEnum> = BTreeMap::new();
    for e in &out {
        let first = match names.get(e.name.as_str()) {
            Some(first) => Some(first),
            None => snakes.get(e.snake.as_str()),
        };
        if let Some(first) = first {
            messages.push(format!(
                "enums: {} and {} would both be named `{}` / `{}` in Python and Rust",
                first.origin, e.origin, e.name, e.snake
            ));
        } else {
            names.insert(&e.name, e);
            snakes.insert(&e.snake, e);
        }
    }
    if messages.is_empty() {
        Ok(out)
    } else {
        Err(EmitError { messages })
    }
}

/// The proto comment for a field with known values, in the words typed enums get there:
/// `Known values (untyped model.PostType* constants, open set): "", "slack_attachment", …`,
/// wrapped to lines of at most 100 characters.
pub fn known_values_note(known: &KnownValues) -> Vec<String> {
    // The front-end only reads packages from directories of their name (`model/post.go`).
    let package = known
        .values
        .first()
        .and_then(|v| v.file.split('/').next())
        .unwrap_or_default();
    let mut values: Vec<String> = Vec::new();
    for v in &known.values {
        let quoted = format!("{:?}", v.value);
        if !values.contains(&quoted) {
            values.push(quoted);
        }
    }
    let head = format!(
        "Known values (untyped {package}.{}* constants, open set):",
        known.prefix
    );
    let one_line = format!("{head} {}", values.join(", "));
    if one_line.len() <= 100 {
        return vec![one_line];
    }
    let mut lines = vec![head];
    let mut line = String::new();
    for (i, v) in values.iter().enumerate() {
        let item = if i + 1 < values.len() {
            format!("{v},")
        } else {
            v.clone()
        };
        if !line.is_empty() && line.len() + 1 + item.len() > 98 {
            lines.push(format!("  {line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&item);
    }
    lines.push(format!("  {line}"));
    lines
}

fn members(type_name: &str, values: &[crate::ir::EnumValue]) -> Vec<Member> {
    let spell = |strip: bool, go: &str| {
        let rest = go
            .strip_prefix(type_name)
            .filter(|r| strip && r.starts_with(|c: char| c.is_ascii_uppercase()))
            .unwrap_or(go);
        crate::naming::snake(rest).to_uppercase()
    };
    // Stripping the prefix must not make two members collide; if it would, keep whole names.
    let stripped: Vec<String> = values.iter().map(|v| spell(true, &v.name)).collect();
    let mut unique = stripped.clone();
    unique.sort();
    unique.dedup();
    let strip = unique.len() == stripped.len();
    values
        .iter()
        .map(|v| Member {
            name: spell(strip, &v.name),
            go: v.name.clone(),
            value: v.value.clone(),
            literal: serde_json::to_string(&v.value).expect("a string serialises"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::EnumValue;

    fn values(pairs: &[(&str, &str)]) -> Vec<EnumValue> {
        pairs
            .iter()
            .map(|(name, value)| EnumValue {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect()
    }

    #[test]
    fn member_names() {
        let names = |t: &str, v: &[(&str, &str)]| -> Vec<String> {
            members(t, &values(v)).into_iter().map(|m| m.name).collect()
        };
        assert_eq!(
            names(
                "ChannelType",
                &[("ChannelTypeOpen", "O"), ("ChannelTypeDirect", "D")]
            ),
            ["OPEN", "DIRECT"]
        );
        assert_eq!(
            names("ContentFlaggingEvent", &[("EventFlagged", "flagged")]),
            ["EVENT_FLAGGED"]
        );
        assert_eq!(
            names("PushTransport", &[("PushTransportVoIP", "voip")]),
            ["VOIP"]
        );
        // `ChannelTypes` would strip to `s`: not a word boundary, so the name stays whole.
        assert_eq!(
            names("ChannelType", &[("ChannelTypes", "x")]),
            ["CHANNEL_TYPES"]
        );
        let literal = &members("T", &values(&[("TQuote", "a\"b\\c")]))[0].literal;
        assert_eq!(literal, r#""a\"b\\c""#);
    }
}
