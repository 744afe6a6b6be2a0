//! Proto field types → the Rust types prost generates for them.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::proto::{FieldType, Scalar, ValueType};

/// The prost type of a field.
pub fn field_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Repeated(v) => {
            let elem = value_type(v);
            quote!(::std::vec::Vec<#elem>)
        }
        FieldType::Optional(s) => {
            let elem = value_type(&ValueType::Scalar(*s));
            quote!(::core::option::Option<#elem>)
        }
        FieldType::Map(k, v) => {
            let (k, v) = (value_type(&ValueType::Scalar(*k)), value_type(v));
            quote!(::std::collections::HashMap<#k, #v>)
        }
        FieldType::Single(v @ ValueType::Scalar(_)) => value_type(v),
        // prost wraps every singular message field in an Option.
        FieldType::Single(v) => {
            let m = value_type(v);
            quote!(::core::option::Option<#m>)
        }
    }
}

/// The Rust type of one value (no label).
pub fn value_type(ty: &ValueType) -> TokenStream {
    match ty {
        ValueType::Scalar(s) => match s {
            Scalar::String => quote!(::prost::alloc::string::String),
            Scalar::Bytes => quote!(::prost::alloc::vec::Vec<u8>),
            Scalar::Bool => quote!(bool),
            Scalar::Int32 => quote!(i32),
            Scalar::Int64 => quote!(i64),
            Scalar::Uint32 => quote!(u32),
            Scalar::Uint64 => quote!(u64),
            Scalar::Float => quote!(f32),
            Scalar::Double => quote!(f64),
        },
        ValueType::AnyMap => quote!(crate::pb::AnyMap),
        ValueType::Any => quote!(crate::pb::AnyValue),
        ValueType::Timestamp => quote!(::prost_types::Timestamp),
        ValueType::Message(name) => {
            let id = message_ident(name);
            quote!(crate::pb::#id)
        }
    }
}

/// A sample value of a field's Rust type, as tokens: non-default wherever a field can be (for
/// the generated round-trip tests).
pub fn sample(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Repeated(v) => {
            let v = sample_value(v);
            quote!(vec![#v])
        }
        FieldType::Optional(s) => {
            let v = sample_value(&ValueType::Scalar(*s));
            quote!(Some(#v))
        }
        FieldType::Map(k, v) => {
            let (k, v) = (sample_value(&ValueType::Scalar(*k)), sample_value(v));
            quote!([(#k, #v)].into_iter().collect::<HashMap<_, _>>())
        }
        FieldType::Single(v @ ValueType::Scalar(_)) => sample_value(v),
        FieldType::Single(v) => {
            let v = sample_value(v);
            quote!(Some(#v))
        }
    }
}

fn sample_value(ty: &ValueType) -> TokenStream {
    match ty {
        ValueType::Scalar(s) => match s {
            Scalar::String => quote!(String::from("sample")),
            Scalar::Bytes => quote!(b"sample-bytes".to_vec()),
            Scalar::Bool => quote!(true),
            Scalar::Int32 => quote!(7i32),
            Scalar::Int64 => quote!(7i64),
            Scalar::Uint32 => quote!(7u32),
            Scalar::Uint64 => quote!(7u64),
            Scalar::Float => quote!(1.5f32),
            Scalar::Double => quote!(1.5f64),
        },
        ValueType::AnyMap => quote!(crate::support::any::map([(
            "n",
            crate::support::any::int(9_007_199_254_740_993)
        )])),
        ValueType::Any => quote!(crate::support::any::uint(u64::MAX)),
        ValueType::Timestamp => quote!(<::prost_types::Timestamp as Default>::default()),
        ValueType::Message(name) => {
            let id = message_ident(name);
            quote!(<pb::#id as Default>::default())
        }
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

pub(crate) fn is_keyword(s: &str) -> bool {
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
