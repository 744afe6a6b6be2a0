//! Conversions between the gob structs and the contract's prost messages, both ways, generated
//! by walking each field's Go type (the gob side) beside its contract type (the prost side).
//! The contract flattens embedded structs the way JSON does; `GoOrigin` gives each message
//! field's Go path, so embedded structs are taken apart and put back together here.

use std::collections::{BTreeMap, HashMap};

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::{field_ident, gob_type, struct_ident};
use crate::emit::proto::{FieldType, ProtoFile, ProtoMessage, Scalar, ValueType};
use crate::externals::ExternalMapping;
use crate::ir::{Ir, TypeDecl, TypeKind, TypeRef};

/// A Go type with names resolved to what gob sees.
pub(super) enum Go<'a> {
    Scalar(&'a str),
    Struct(&'a TypeDecl),
    Pointer(Box<Go<'a>>),
    Slice(Box<Go<'a>>),
    Bytes,
    Map(Box<Go<'a>>, Box<Go<'a>>),
    Any,
    Time,
    /// Another library's struct with a hand-written gob form, JSON on the contract.
    Opaque(Ident),
}

fn resolve<'a>(ir: &'a Ir, ty: &'a TypeRef, depth: usize) -> Result<Go<'a>, String> {
    if depth > 32 {
        return Err(format!("`{}` does not resolve", ty.go_string()));
    }
    Ok(match ty {
        TypeRef::Builtin(b) if b == "any" || b == "error" => Go::Any,
        TypeRef::Builtin(b) => Go::Scalar(match b.as_str() {
            "int" => "int64",
            "uint" | "uintptr" => "uint64",
            "rune" => "int32",
            "byte" => "uint8",
            other => other,
        }),
        TypeRef::Named { package, name, .. } => {
            let decl = ir
                .find_type(package, name)
                .ok_or_else(|| format!("`{package}.{name}` is not in the IR"))?;
            match &decl.kind {
                TypeKind::Struct { .. } => Go::Struct(decl),
                TypeKind::Named { underlying, .. } => resolve(ir, underlying, depth + 1)?,
                TypeKind::Alias { target } => resolve(ir, target, depth + 1)?,
                TypeKind::Interface => Go::Any,
            }
        }
        TypeRef::External { path, name, .. } => match crate::externals::mapping(path, name) {
            Some(ExternalMapping::Timestamp) => Go::Time,
            Some(ExternalMapping::DurationNanos) => Go::Scalar("int64"),
            Some(ExternalMapping::RawJson) => Go::Bytes,
            Some(ExternalMapping::OpaqueJson) if super::opaque_gob(path, name).is_some() => {
                Go::Opaque(super::opaque_gob(path, name).expect("checked"))
            }
            _ => return Err(format!("`{}` has no generic gob form", ty.go_string())),
        },
        TypeRef::Pointer(inner) => Go::Pointer(Box::new(resolve(ir, inner, depth + 1)?)),
        TypeRef::Slice(elem) => match resolve(ir, elem, depth + 1)? {
            Go::Scalar("uint8") => Go::Bytes,
            // gob flattens pointers inside slices and maps.
            Go::Pointer(inner) => Go::Slice(inner),
            e => Go::Slice(Box::new(e)),
        },
        TypeRef::Map { key, value } => {
            let v = match resolve(ir, value, depth + 1)? {
                Go::Pointer(inner) => *inner,
                v => v,
            };
            Go::Map(Box::new(resolve(ir, key, depth + 1)?), Box::new(v))
        }
        _ => return Err(format!("`{}` has no gob form", ty.go_string())),
    })
}

/// Writes conversions; knows the contract's wrapper messages (`StringList`, …).
pub struct Converter<'a> {
    pub ir: &'a Ir,
    messages: HashMap<&'a str, &'a ProtoMessage>,
    /// Model messages by the Go struct they come from (`model.Post`).
    by_go_type: HashMap<&'a str, &'a ProtoMessage>,
}

impl<'a> Converter<'a> {
    pub fn new(ir: &'a Ir, schema: &'a [ProtoFile]) -> Self {
        let all = || schema.iter().flat_map(|f| &f.messages);
        Converter {
            ir,
            messages: all().map(|m| (m.name.as_str(), m)).collect(),
            by_go_type: all()
                .filter_map(|m| Some((m.go.as_ref()?.type_name.as_str(), m)))
                .collect(),
        }
    }

    fn wrapper(&self, name: &str) -> Result<&'a FieldType, String> {
        self.messages
            .get(name)
            .and_then(|m| m.fields.first())
            .map(|f| &f.ty)
            .ok_or_else(|| format!("no wrapper message `{name}`"))
    }

    /// A scalar from gob to prost (`to_pb`) or back.
    fn scalar(
        &self,
        go: &str,
        pb: Scalar,
        e: TokenStream,
        to_pb: bool,
    ) -> Result<TokenStream, String> {
        let numeric = |s: Scalar| !matches!(s, Scalar::String | Scalar::Bytes | Scalar::Bool);
        let go_type = || gob_type(self.ir, &TypeRef::Builtin(go.to_string()), 0);
        match (go, pb) {
            ("string", Scalar::String) | ("bool", Scalar::Bool) => Ok(e),
            (g, p) if numeric(p) && g != "string" && g != "bool" && go_type().is_ok() => {
                // The two sides' Rust types come from the two emitters' own tables.
                let target = if to_pb {
                    crate::emit::rust::prost_value_type(&ValueType::Scalar(p))
                } else {
                    go_type()?
                };
                Ok(quote!((#e as #target)))
            }
            (g, p) => Err(format!("Go `{g}` against contract `{p}`")),
        }
    }

    /// One value (never a label's container) between gob and prost.
    fn value(
        &self,
        go: &Go,
        pb: &ValueType,
        e: TokenStream,
        to_pb: bool,
    ) -> Result<TokenStream, String> {
        Ok(match (go, pb) {
            (Go::Scalar(g), ValueType::Scalar(p)) => self.scalar(g, *p, e, to_pb)?,
            (Go::Bytes, ValueType::Scalar(Scalar::Bytes)) => e,
            (Go::Opaque(id), ValueType::Scalar(Scalar::Bytes)) => {
                if to_pb {
                    quote!(crate::externals::OpaqueJson::to_json(&#e))
                } else {
                    // API arguments are checked before the call (`check_json`).
                    quote!(crate::externals::from_checked_json::<crate::externals::#id>(&#e))
                }
            }
            (Go::Struct(decl), ValueType::Message(m)) => {
                let (g, p) = (
                    struct_ident(decl),
                    crate::emit::rust::prost_message_ident(m),
                );
                if to_pb {
                    quote!(pb::#p::from(#e))
                } else {
                    quote!(#g::from(#e))
                }
            }
            (Go::Pointer(inner), _) => self.value(inner, pb, e, to_pb)?,
            (Go::Time, ValueType::Timestamp) => {
                if to_pb {
                    quote!(crate::values::time_to_pb(#e).unwrap_or_default())
                } else {
                    quote!(crate::values::time_from_pb(Some(#e)))
                }
            }
            (Go::Any, ValueType::Any) => {
                if to_pb {
                    quote!(crate::values::any_to_pb(#e).unwrap_or_default())
                } else {
                    quote!(crate::values::any_from_pb(Some(#e)))
                }
            }
            (Go::Map(_, v), ValueType::AnyMap) if matches!(**v, Go::Any) => {
                if to_pb {
                    quote!(crate::values::anymap_to_pb(#e).unwrap_or_default())
                } else {
                    quote!(crate::values::anymap_from_pb(Some(#e)))
                }
            }
            (Go::Slice(_) | Go::Map(..), ValueType::Message(w)) => {
                let inner = self.wrapper(w)?;
                let field = match inner {
                    FieldType::Map(..) => format_ident!("entries"),
                    _ => format_ident!("values"),
                };
                let wid = crate::emit::rust::prost_message_ident(w);
                if to_pb {
                    let x = self.field(go, inner, quote!(x), true)?;
                    quote!({ let x = #e; pb::#wid { #field: #x } })
                } else {
                    self.field(go, inner, quote!((#e).#field), false)?
                }
            }
            (_, pb) => return Err(format!("a Go value against contract `{pb}`")),
        })
    }

    /// A field between its gob form and its prost form (`e` is the source expression).
    fn field(
        &self,
        go: &Go,
        pb: &FieldType,
        e: TokenStream,
        to_pb: bool,
    ) -> Result<TokenStream, String> {
        Ok(match (go, pb) {
            (Go::Pointer(inner), FieldType::Optional(s)) => {
                let v = self.value(inner, &ValueType::Scalar(*s), quote!(v), to_pb)?;
                quote!((#e).map(|v| #v))
            }
            // prost wraps singular messages in Option.
            (
                Go::Pointer(inner),
                FieldType::Single(
                    v @ (ValueType::Message(_)
                    | ValueType::Timestamp
                    | ValueType::Any
                    | ValueType::AnyMap),
                ),
            ) => {
                if to_pb {
                    let x = self.value(inner, v, quote!(x), true)?;
                    let unbox = if matches!(**inner, Go::Struct(_)) {
                        quote!(*x)
                    } else {
                        quote!(x)
                    };
                    quote!((#e).map(|x| { let x = #unbox; #x }))
                } else {
                    let x = self.value(inner, v, quote!(x), false)?;
                    let boxed = if matches!(**inner, Go::Struct(_)) {
                        quote!(Box::new(#x))
                    } else {
                        x
                    };
                    quote!((#e).map(|x| #boxed))
                }
            }
            // A pointer to a slice or map (`*[]string`): nil and empty are one on the contract.
            (Go::Pointer(inner), FieldType::Repeated(_) | FieldType::Map(..)) => {
                if to_pb {
                    let x = self.field(inner, pb, quote!(x), true)?;
                    quote!((#e).map(|x| #x).unwrap_or_default())
                } else {
                    let x = self.field(inner, pb, e, false)?;
                    quote!(crate::values::non_empty(#x))
                }
            }
            (Go::Any, FieldType::Single(ValueType::Any)) => {
                if to_pb {
                    quote!(crate::values::any_to_pb(#e))
                } else {
                    quote!(crate::values::any_from_pb(#e))
                }
            }
            (Go::Map(_, v), FieldType::Single(ValueType::AnyMap)) if matches!(**v, Go::Any) => {
                if to_pb {
                    quote!(crate::values::anymap_to_pb(#e))
                } else {
                    quote!(crate::values::anymap_from_pb(#e))
                }
            }
            (Go::Time, FieldType::Single(ValueType::Timestamp)) => {
                if to_pb {
                    quote!(crate::values::time_to_pb(#e))
                } else {
                    quote!(crate::values::time_from_pb(#e))
                }
            }
            (go, FieldType::Single(v @ ValueType::Message(_))) => {
                if to_pb {
                    let x = self.value(go, v, quote!(x), true)?;
                    quote!({ let x = #e; Some(#x) })
                } else {
                    let x = self.value(go, v, quote!(x), false)?;
                    quote!((#e).map(|x| #x).unwrap_or_default())
                }
            }
            (go, FieldType::Single(v)) => self.value(go, v, e, to_pb)?,
            (Go::Slice(elem), FieldType::Repeated(v)) => {
                let x = self.value(elem, v, quote!(x), to_pb)?;
                quote!((#e).into_iter().map(|x| #x).collect())
            }
            (Go::Map(k, v), FieldType::Map(pk, pv)) => {
                let kx = self.value(k, &ValueType::Scalar(*pk), quote!(k), to_pb)?;
                let vx = self.value(v, pv, quote!(v), to_pb)?;
                quote!((#e).into_iter().map(|(k, v)| (#kx, #vx)).collect())
            }
            (_, pb) => return Err(format!("a Go value against contract field `{pb}`")),
        })
    }

    /// `From` impls both ways for one struct and its message; `None` when the struct has no
    /// message (it was not reached by the contract).
    pub fn struct_impls(&self, decl: &'a TypeDecl) -> Result<Option<(TokenStream, Ident)>, String> {
        let q = decl.qualified_name();
        let Some(message) = self.by_go_type.get(q.as_str()).copied() else {
            return Ok(None);
        };
        let origin = message.go.as_ref().map(|g| &g.paths);
        let g = struct_ident(decl);
        let p = crate::emit::rust::prost_message_ident(&message.name);
        // gob field path → (proto field ident, Go type, contract type).
        let mut by_path: BTreeMap<Vec<String>, (Ident, &TypeRef, &FieldType)> = BTreeMap::new();
        for f in &message.fields {
            let Some(path) = origin.and_then(|o| o.get(&f.name)) else {
                continue; // fields no Go struct declares (AppError's params)
            };
            let Some(ty) = go_field_type(self.ir, decl, path) else {
                continue;
            };
            by_path.insert(
                path.clone(),
                (crate::emit::rust::prost_field_ident(&f.name), ty, &f.ty),
            );
        }
        let to_pb = self.assemble_to_pb(decl, &[], &by_path, quote!(value))?;
        let from_pb = self.assemble_from_pb(decl, &[], &by_path)?;
        Ok(Some((
            quote! {
                impl From<#g> for pb::#p {
                    fn from(value: #g) -> Self {
                        let mut out = pb::#p::default();
                        #to_pb
                        out
                    }
                }
                impl From<pb::#p> for #g {
                    fn from(value: pb::#p) -> Self {
                        #from_pb
                    }
                }
            },
            p,
        )))
    }

    /// Statements setting `out.<field>` from the gob struct `src` (at `prefix` inside `decl`).
    fn assemble_to_pb(
        &self,
        decl: &TypeDecl,
        prefix: &[String],
        by_path: &BTreeMap<Vec<String>, (Ident, &TypeRef, &FieldType)>,
        src: TokenStream,
    ) -> Result<TokenStream, String> {
        let TypeKind::Struct { fields, .. } = &decl.kind else {
            return Ok(quote!());
        };
        let mut out = Vec::new();
        for f in fields {
            if gob_type(self.ir, &f.ty, 0).is_err() {
                continue;
            }
            let gid = field_ident(&f.name);
            let mut path = prefix.to_vec();
            path.push(f.name.clone());
            if let Some((pid, ty, pb)) = by_path.get(&path) {
                let go = resolve(self.ir, ty, 0)?;
                let x = self.field(&go, pb, quote!(#src.#gid), true)?;
                out.push(quote!(out.#pid = #x;));
            } else if f.embedded && by_path.keys().any(|k| k.starts_with(&path)) {
                let (inner, pointer) = embedded_struct(self.ir, &f.ty).ok_or_else(|| {
                    format!(
                        "{}: embedded `{}` is not a struct",
                        decl.qualified_name(),
                        f.name
                    )
                })?;
                let nested = self.assemble_to_pb(inner, &path, by_path, quote!(e))?;
                out.push(if pointer {
                    quote!(if let Some(e) = #src.#gid { let e = *e; #nested })
                } else {
                    quote!({ let e = #src.#gid; #nested })
                });
            }
        }
        Ok(quote!(#(#out)*))
    }

    /// An expression building the gob struct `decl` (at `prefix`) from the prost message `value`.
    fn assemble_from_pb(
        &self,
        decl: &TypeDecl,
        prefix: &[String],
        by_path: &BTreeMap<Vec<String>, (Ident, &TypeRef, &FieldType)>,
    ) -> Result<TokenStream, String> {
        let TypeKind::Struct { fields, .. } = &decl.kind else {
            return Ok(quote!(Default::default()));
        };
        let id = struct_ident(decl);
        let mut sets = Vec::new();
        for f in fields {
            if gob_type(self.ir, &f.ty, 0).is_err() {
                continue;
            }
            let gid = field_ident(&f.name);
            let mut path = prefix.to_vec();
            path.push(f.name.clone());
            if let Some((pid, ty, pb)) = by_path.get(&path) {
                let go = resolve(self.ir, ty, 0)?;
                let x = self.field(&go, pb, quote!(value.#pid.clone()), false)?;
                sets.push(quote!(out.#gid = #x;));
            } else if f.embedded && by_path.keys().any(|k| k.starts_with(&path)) {
                let (inner, pointer) = embedded_struct(self.ir, &f.ty).ok_or_else(|| {
                    format!(
                        "{}: embedded `{}` is not a struct",
                        decl.qualified_name(),
                        f.name
                    )
                })?;
                let nested = self.assemble_from_pb(inner, &path, by_path)?;
                sets.push(if pointer {
                    // A nil embedded pointer stays nil: only fields it carried make it non-nil.
                    quote!(out.#gid = { let e = #nested; (e != Default::default()).then(|| Box::new(e)) };)
                } else {
                    quote!(out.#gid = #nested;)
                });
            }
        }
        Ok(quote!({
            #[allow(unused_mut)]
            let mut out = #id::default();
            #(#sets)*
            out
        }))
    }
}

/// The Go type of the field at `path` inside `decl` (through embedded structs).
fn go_field_type<'a>(ir: &'a Ir, decl: &'a TypeDecl, path: &[String]) -> Option<&'a TypeRef> {
    let TypeKind::Struct { fields, .. } = &decl.kind else {
        return None;
    };
    let (first, rest) = path.split_first()?;
    let f = fields.iter().find(|f| &f.name == first)?;
    if rest.is_empty() {
        return Some(&f.ty);
    }
    let (inner, _) = embedded_struct(ir, &f.ty)?;
    go_field_type(ir, inner, rest)
}

/// An embedded field's struct, and whether it is embedded by pointer.
fn embedded_struct<'a>(ir: &'a Ir, ty: &TypeRef) -> Option<(&'a TypeDecl, bool)> {
    let (target, pointer) = match ty {
        TypeRef::Pointer(inner) => (&**inner, true),
        t => (t, false),
    };
    match target {
        TypeRef::Named { package, name, .. } => {
            let d = ir.find_type(package, name)?;
            matches!(d.kind, TypeKind::Struct { .. }).then_some((d, pointer))
        }
        _ => None,
    }
}

impl<'a> Converter<'a> {
    /// `Z_<Method>Args` / `Z_<Method>Returns` to and from the contract's arguments and results:
    /// `into_contract` / `from_contract`, the arguments and results as tuples in contract order.
    pub fn method_impls(&self, rpc: &crate::emit::proto::ProtoRpc) -> Result<TokenStream, String> {
        use crate::emit::proto::ErrorField;
        let m = &rpc.method;
        let go_name = &m.name;
        let (args, returns) = super::wire_names(m);
        let (args, returns) = (format_ident!("{}", args), format_ident!("{}", returns));
        if let crate::emit::proto::RpcShape::ConfigurationJson { .. } = rpc.shape {
            // No arguments cross; the configuration comes back as JSON bytes in `A`, and a
            // failure is net/rpc's own error.
            return Ok(quote! {
                impl #args {
                    pub fn into_contract(self) -> () {}
                    pub fn from_contract(args: ()) -> Self {
                        let () = args;
                        Self::default()
                    }
                }
                impl #returns {
                    pub fn into_contract(self) -> Result<(Vec<u8>,), ApiError> {
                        Ok((self.a,))
                    }
                    pub fn from_contract(result: Result<(Vec<u8>,), ApiError>) -> Self {
                        Self { a: result.map(|v| v.0).unwrap_or_default() }
                    }
                }
            });
        }

        // Arguments, in contract order.
        let mut arg_types = Vec::new();
        let mut to_contract = Vec::new();
        let mut from_contract = Vec::new();
        for (i, f) in rpc.args.iter().enumerate() {
            let Some(param) = f.go_position.and_then(|p| m.params.get(p)) else {
                return Err(format!(
                    "{go_name}: argument `{}` names no Go parameter",
                    f.name
                ));
            };
            let go = resolve(self.ir, &param.ty, 0)?;
            let gid = field_ident(&param.wire_name);
            let index = syn::Index::from(i);
            arg_types.push(crate::emit::rust::prost_field_type(&f.ty));
            to_contract.push(self.field(&go, &f.ty, quote!(self.#gid), true)?);
            let x = self.field(&go, &f.ty, quote!(args.#index), false)?;
            from_contract.push(quote!(out.#gid = #x;));
        }

        // Results, then the error.
        let mut result_types = Vec::new();
        let mut results_out = Vec::new();
        let mut results_in = Vec::new();
        for (i, f) in rpc.results.iter().enumerate() {
            let Some(result) = f.go_position.and_then(|p| m.results.get(p)) else {
                return Err(format!("{go_name}: result `{}` names no Go result", f.name));
            };
            let go = resolve(self.ir, &result.ty, 0)?;
            let gid = field_ident(&result.wire_name);
            let index = syn::Index::from(i);
            result_types.push(crate::emit::rust::prost_field_type(&f.ty));
            results_out.push(self.field(&go, &f.ty, quote!(self.#gid), true)?);
            let x = self.field(&go, &f.ty, quote!(values.#index), false)?;
            results_in.push(quote!(out.#gid = #x;));
        }
        let error_id = field_ident(&char::from(b'A' + m.results.len() as u8).to_string());
        let (check, fail) = match rpc.error {
            ErrorField::None => (
                quote!(),
                quote!({
                    let _ = error;
                }),
            ),
            ErrorField::AppError => (
                quote! {
                    if let Some(e) = self.#error_id {
                        return Err(ApiError::App(pb::AppError::from(*e)));
                    }
                },
                quote! {
                    out.#error_id = Some(Box::new(AppError::from(error.into_app_error(#go_name))));
                },
            ),
            ErrorField::GoError => (
                quote! {
                    if let Some(e) = crate::values::error_to_pb(self.#error_id) {
                        return Err(ApiError::Error(e));
                    }
                },
                quote! {
                    out.#error_id = crate::values::error_from_pb(error.into_error());
                },
            ),
        };
        Ok(quote! {
            impl #args {
                /// The contract's arguments, in order.
                pub fn into_contract(self) -> (#(#arg_types,)*) {
                    (#(#to_contract,)*)
                }
                /// From the contract's arguments, in order.
                pub fn from_contract(args: (#(#arg_types,)*)) -> Self {
                    let _ = &args;
                    #[allow(unused_mut)]
                    let mut out = Self::default();
                    #(#from_contract)*
                    out
                }
            }
            impl #returns {
                /// The contract's results, or the call's error.
                pub fn into_contract(self) -> Result<(#(#result_types,)*), ApiError> {
                    #check
                    Ok((#(#results_out,)*))
                }
                /// From the contract's results, or the call's error (which leaves the results at
                /// their zero values, as Go does).
                pub fn from_contract(result: Result<(#(#result_types,)*), ApiError>) -> Self {
                    #[allow(unused_mut)]
                    let mut out = Self::default();
                    match result {
                        Ok(values) => {
                            let _ = &values;
                            #(#results_in)*
                        }
                        Err(error) => { #fail }
                    }
                    out
                }
            }
        })
    }
}
