//! Go string enums (`type ChannelType string` with its constants) as every language spells them:
//! one view built from the IR, rendered by the Python and Rust emitters.

use crate::ir::{Ir, TypeKind};

/// One Go string type with the constants declared with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringEnum {
    /// Go package (`model`).
    pub package: String,
    /// Go type name (`ChannelType`), also the Python class name.
    pub name: String,
    /// Snake-case name (`channel_type`), the Rust module name.
    pub snake: String,
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

/// Every string enum of the IR, in the IR's (sorted) type order.
pub fn string_enums(ir: &Ir) -> Vec<StringEnum> {
    ir.types
        .iter()
        .filter_map(|t| match &t.kind {
            TypeKind::Named { enum_values, .. } if !enum_values.is_empty() => Some(StringEnum {
                package: t.package.clone(),
                name: t.name.clone(),
                snake: crate::naming::snake(&t.name),
                members: members(&t.name, enum_values),
            }),
            _ => None,
        })
        .collect()
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
