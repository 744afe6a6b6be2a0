//! Go string literals and struct tags, read the way `strconv.Unquote` and
//! `reflect.StructTag.Get` read them.

/// Unquotes a Go string literal (`"…"` with escapes, or `` `…` `` raw). `None` when malformed.
pub fn unquote(literal: &str) -> Option<String> {
    if let Some(raw) = literal.strip_prefix('`').and_then(|s| s.strip_suffix('`')) {
        // Raw strings drop carriage returns, as the Go spec says.
        return Some(raw.replace('\r', ""));
    }
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let esc = chars.next()?;
        match esc {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' | 'u' | 'U' => {
                let len = match esc {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(len).collect();
                if hex.len() != len {
                    return None;
                }
                let code = u32::from_str_radix(&hex, 16).ok()?;
                out.push(char::from_u32(code)?);
            }
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let code = u32::from_str_radix(&format!("{esc}{rest}"), 8).ok()?;
                out.push(char::from_u32(code)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The value of `key` in a struct tag, following `reflect.StructTag.Lookup`.
pub fn lookup(tag: &str, key: &str) -> Option<String> {
    let mut rest = tag;
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            return None;
        }
        let name_len = rest
            .char_indices()
            .find(|&(_, c)| c <= ' ' || c == ':' || c == '"' || c == '\x7f')
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        if name_len == 0 || !rest[name_len..].starts_with(":\"") {
            return None;
        }
        let name = &rest[..name_len];
        rest = &rest[name_len + 1..];
        // Find the closing quote, skipping escaped characters.
        let bytes = rest.as_bytes();
        let mut i = 1;
        while i < bytes.len() && bytes[i] != b'"' {
            if bytes[i] == b'\\' {
                i += 1;
            }
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        let quoted = &rest[..=i];
        rest = &rest[i + 1..];
        if name == key {
            return unquote(quoted);
        }
    }
}

/// What a field's `json` tag says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JsonTag {
    /// The name part; empty when the tag gives none.
    pub name: String,
    /// `json:"-"` exactly.
    pub skip: bool,
    pub omitempty: bool,
    pub omitzero: bool,
    pub string: bool,
}

pub fn json_tag(tag: Option<&str>) -> JsonTag {
    let Some(value) = tag.and_then(|t| lookup(t, "json")) else {
        return JsonTag::default();
    };
    if value == "-" {
        return JsonTag {
            name: "-".into(),
            skip: true,
            ..JsonTag::default()
        };
    }
    let mut parts = value.split(',');
    let name = parts.next().unwrap_or("").to_string();
    let mut out = JsonTag {
        name,
        ..JsonTag::default()
    };
    for opt in parts {
        match opt {
            "omitempty" => out.omitempty = true,
            "omitzero" => out.omitzero = true,
            "string" => out.string = true,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_go_literals() {
        assert_eq!(
            unquote(r#""a\"b\n\x41\u00e9""#).as_deref(),
            Some("a\"b\nAé")
        );
        assert_eq!(unquote("`raw \\n`").as_deref(), Some("raw \\n"));
        assert_eq!(unquote(r#""bad\q""#), None);
        assert_eq!(unquote("nope"), None);
    }

    #[test]
    fn reads_struct_tags() {
        let tag = r#"json:"id,omitempty" yaml:"x" db:"a\"b""#;
        assert_eq!(lookup(tag, "json").as_deref(), Some("id,omitempty"));
        assert_eq!(lookup(tag, "db").as_deref(), Some("a\"b"));
        assert_eq!(lookup(tag, "xml"), None);
        assert_eq!(lookup("json:unquoted", "json"), None);
    }

    #[test]
    fn json_tag_forms() {
        assert!(json_tag(Some(r#"json:"-""#)).skip);
        let dash_comma = json_tag(Some(r#"json:"-,""#));
        assert!(!dash_comma.skip);
        assert_eq!(dash_comma.name, "-");
        let t = json_tag(Some(r#"json:",omitempty,string""#));
        assert_eq!(t.name, "");
        assert!(t.omitempty && t.string && !t.omitzero);
        assert_eq!(json_tag(None), JsonTag::default());
    }
}
