//! Proto field types → the Rust types prost generates for them.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The prost type of a field written as `ty` in our proto (`repeated User`, `optional string`, …).
pub fn field_type(ty: &str) -> TokenStream {
    if let Some(inner) = ty.strip_prefix("repeated ") {
        let elem = value_type(inner);
        return quote!(::std::vec::Vec<#elem>);
    }
    if let Some(inner) = ty.strip_prefix("optional ") {
        let elem = value_type(inner);
        return quote!(::core::option::Option<#elem>);
    }
    if let Some(rest) = ty.strip_prefix("map<").and_then(|r| r.strip_suffix('>')) {
        let (k, v) = rest.split_once(", ").unwrap_or((rest, "string"));
        let (k, v) = (value_type(k), value_type(v));
        return quote!(::std::collections::HashMap<#k, #v>);
    }
    if is_scalar(ty) {
        value_type(ty)
    } else {
        let m = value_type(ty);
        quote!(::core::option::Option<#m>)
    }
}

pub fn is_scalar(ty: &str) -> bool {
    matches!(
        ty,
        "string" | "bytes" | "bool" | "int32" | "int64" | "uint32" | "uint64" | "float" | "double"
    )
}

/// The Rust type of one value (no label).
pub fn value_type(ty: &str) -> TokenStream {
    match ty {
        "string" => quote!(::prost::alloc::string::String),
        "bytes" => quote!(::prost::alloc::vec::Vec<u8>),
        "bool" => quote!(bool),
        "int32" => quote!(i32),
        "int64" => quote!(i64),
        "uint32" => quote!(u32),
        "uint64" => quote!(u64),
        "float" => quote!(f32),
        "double" => quote!(f64),
        other => match other.strip_prefix("google.protobuf.") {
            Some(wkt) => {
                let id = format_ident!("{}", wkt);
                quote!(::prost_types::#id)
            }
            None => {
                let id = message_ident(other);
                quote!(crate::pb::#id)
            }
        },
    }
}

/// prost's struct name for a message.
pub fn message_ident(name: &str) -> proc_macro2::Ident {
    format_ident!("{}", heck::AsUpperCamelCase(name).to_string())
}

/// prost's field name for a proto field (keywords become raw identifiers).
pub fn field_ident(name: &str) -> proc_macro2::Ident {
    let snake = heck::AsSnakeCase(name).to_string();
    if is_keyword(&snake) {
        proc_macro2::Ident::new_raw(&snake, proc_macro2::Span::call_site())
    } else {
        format_ident!("{}", snake)
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
    )
}

/// The snake_case Rust name of a Go method (`GetUser` → `get_user`, `ServeHTTP` → `serve_http`).
pub fn method_ident(go_name: &str) -> proc_macro2::Ident {
    format_ident!("{}", crate::naming::snake(go_name))
}
