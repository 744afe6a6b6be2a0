//! The one Go → proto type-mapping table. `docs/PROTO_MAPPING.md` describes the same rules.

use std::collections::HashMap;

use crate::externals::ExternalMapping;
use crate::ir::{Ir, TypeKind, TypeRef};

/// A Go type as it travels in proto, before it is fitted into a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// A proto scalar (`string`, `int64`, `bytes`, …).
    Scalar(&'static str),
    /// A message, by its full proto name (`User`, `google.protobuf.Struct`).
    Message(String),
    /// A pointer to a scalar: presence matters.
    Optional(Box<Wire>),
    List(Box<Wire>),
    Map(&'static str, Box<Wire>),
    /// Not carried at all (function values).
    Omitted,
}

pub const STRUCT: &str = "google.protobuf.Struct";
pub const VALUE: &str = "google.protobuf.Value";
pub const TIMESTAMP: &str = "google.protobuf.Timestamp";

/// Predeclared Go types → proto scalars. `int` and `uint` are 64-bit on every platform
/// Mattermost supports.
const BUILTINS: &[(&str, &str)] = &[
    ("bool", "bool"),
    ("byte", "uint32"),
    ("float32", "float"),
    ("float64", "double"),
    ("int", "int64"),
    ("int16", "int32"),
    ("int32", "int32"),
    ("int64", "int64"),
    ("int8", "int32"),
    ("rune", "int32"),
    ("string", "string"),
    ("uint", "uint64"),
    ("uint16", "uint32"),
    ("uint32", "uint32"),
    ("uint64", "uint64"),
    ("uint8", "uint32"),
    ("uintptr", "uint64"),
];

/// Maps Go types to wire shapes, resolving local names through the IR.
pub struct Mapper<'a> {
    pub ir: &'a Ir,
    /// Proto message name of every struct in the closure, by qualified Go name.
    pub message_names: &'a HashMap<String, String>,
}

impl Mapper<'_> {
    pub fn map(&self, ty: &TypeRef) -> Result<Wire, String> {
        self.map_in(ty, &HashMap::new(), 0)
    }

    fn map_in(
        &self,
        ty: &TypeRef,
        subst: &HashMap<String, TypeRef>,
        depth: usize,
    ) -> Result<Wire, String> {
        if depth > 32 {
            return Err(format!(
                "`{}` does not resolve (named types refer to each other)",
                ty.go_string()
            ));
        }
        Ok(match ty {
            TypeRef::Builtin(name) => match name.as_str() {
                "any" => Wire::Message(VALUE.into()),
                "error" => Wire::Message("Error".into()),
                other => match BUILTINS.iter().find(|(g, _)| *g == other) {
                    Some((_, p)) => Wire::Scalar(p),
                    None => return Err(format!("no proto type for Go `{other}`")),
                },
            },
            TypeRef::TypeParam(name) => match subst.get(name) {
                Some(t) => self.map_in(t, &HashMap::new(), depth + 1)?,
                None => return Err(format!("type parameter `{name}` is not instantiated")),
            },
            TypeRef::Named {
                package,
                name,
                args,
            } => {
                let qualified = format!("{package}.{name}");
                let decl = self
                    .ir
                    .find_type(package, name)
                    .ok_or_else(|| format!("`{qualified}` is not in the IR's type closure"))?;
                let inner_subst: HashMap<String, TypeRef> = decl
                    .type_params
                    .iter()
                    .map(|p| p.name.clone())
                    .zip(args.iter().map(|a| substitute(a, subst)))
                    .collect();
                match &decl.kind {
                    TypeKind::Struct { .. } => {
                        if !decl.type_params.is_empty() {
                            return Err(format!(
                                "generic struct `{qualified}` has no proto mapping"
                            ));
                        }
                        Wire::Message(
                            self.message_names
                                .get(&qualified)
                                .cloned()
                                .ok_or_else(|| format!("no message for `{qualified}`"))?,
                        )
                    }
                    // Interfaces carry whatever JSON value the concrete type encodes to.
                    TypeKind::Interface => Wire::Message(VALUE.into()),
                    TypeKind::Alias { target } => self.map_in(target, &inner_subst, depth + 1)?,
                    TypeKind::Named { underlying, .. } => {
                        self.map_in(underlying, &inner_subst, depth + 1)?
                    }
                }
            }
            TypeRef::External { path, name, .. } => match crate::externals::mapping(path, name) {
                Some(ExternalMapping::Timestamp) => Wire::Message(TIMESTAMP.into()),
                Some(ExternalMapping::DurationNanos) => Wire::Scalar("int64"),
                Some(ExternalMapping::RawJson | ExternalMapping::OpaqueJson) => {
                    Wire::Scalar("bytes")
                }
                Some(ExternalMapping::String) => Wire::Scalar("string"),
                Some(ExternalMapping::Omitted) => Wire::Omitted,
                Some(other) => {
                    return Err(format!(
                        "`{}` ({other:?}) is carried only by a special case",
                        ty.go_string()
                    ));
                }
                None => return Err(format!("no mapping for external `{}`", ty.go_string())),
            },
            TypeRef::Pointer(inner) => match self.map_in(inner, subst, depth + 1)? {
                Wire::Scalar(s) => Wire::Optional(Box::new(Wire::Scalar(s))),
                other => other,
            },
            TypeRef::Slice(elem) | TypeRef::Array { elem, .. } => {
                if is_byte(elem, subst) {
                    Wire::Scalar("bytes")
                } else {
                    match self.map_in(elem, subst, depth + 1)? {
                        Wire::Omitted => Wire::Omitted,
                        // A list cannot hold presence; nil elements are dropped on the wire.
                        Wire::Optional(inner) => Wire::List(inner),
                        w => Wire::List(Box::new(w)),
                    }
                }
            }
            TypeRef::Map { key, value } => {
                let key_wire = self.map_in(key, subst, depth + 1)?;
                let key_scalar = match key_wire {
                    Wire::Scalar(
                        s @ ("string" | "int32" | "int64" | "uint32" | "uint64" | "bool"),
                    ) => s,
                    other => {
                        return Err(format!(
                            "map key `{}` maps to {other:?}, which proto maps cannot key on",
                            key.go_string()
                        ));
                    }
                };
                let value_is_any = matches!(&**value, TypeRef::Builtin(b) if b == "any");
                if key_scalar == "string" && value_is_any {
                    Wire::Message(STRUCT.into())
                } else {
                    match self.map_in(value, subst, depth + 1)? {
                        Wire::Omitted => Wire::Omitted,
                        Wire::Optional(inner) => Wire::Map(key_scalar, inner),
                        w => Wire::Map(key_scalar, Box::new(w)),
                    }
                }
            }
            TypeRef::Chan { .. } | TypeRef::Func | TypeRef::Interface => {
                return Err(format!(
                    "`{}` cannot cross a process boundary",
                    ty.go_string()
                ));
            }
        })
    }
}

fn substitute(ty: &TypeRef, subst: &HashMap<String, TypeRef>) -> TypeRef {
    match ty {
        TypeRef::TypeParam(n) => subst.get(n).cloned().unwrap_or_else(|| ty.clone()),
        _ => ty.clone(),
    }
}

fn is_byte(ty: &TypeRef, subst: &HashMap<String, TypeRef>) -> bool {
    match ty {
        TypeRef::Builtin(b) => b == "byte" || b == "uint8",
        TypeRef::TypeParam(n) => subst.get(n).is_some_and(|t| is_byte(t, &HashMap::new())),
        _ => false,
    }
}

/// A wire shape fitted into one proto field: `repeated`/`optional`/`map<…>` plus the wrapper
/// messages nested lists and maps need (proto has no `repeated repeated`).
pub struct FieldShape {
    /// As written before the field name: `optional string`, `repeated User`, `map<string, int64>`.
    pub text: String,
    /// Wrapper messages this field needs: (name, its single field's type text).
    pub wrappers: Vec<(String, String)>,
}

pub fn field_shape(wire: &Wire) -> FieldShape {
    let mut wrappers = Vec::new();
    let text = match wire {
        Wire::List(inner) => format!("repeated {}", element(inner, &mut wrappers)),
        Wire::Map(key, value) => format!("map<{key}, {}>", element(value, &mut wrappers)),
        Wire::Optional(inner) => format!("optional {}", element(inner, &mut wrappers)),
        other => element(other, &mut wrappers),
    };
    FieldShape { text, wrappers }
}

/// The type name of something that must be a single value: nested lists and maps get a wrapper.
fn element(wire: &Wire, wrappers: &mut Vec<(String, String)>) -> String {
    match wire {
        Wire::Scalar(s) => s.to_string(),
        Wire::Message(m) => m.clone(),
        Wire::Optional(inner) => element(inner, wrappers),
        Wire::List(inner) => {
            let item = element(inner, wrappers);
            let name = format!("{}List", wrapper_stem(&item));
            wrappers.push((name.clone(), format!("repeated {item}")));
            name
        }
        Wire::Map(key, value) => {
            let item = element(value, wrappers);
            let name = format!("{}To{}Map", wrapper_stem(key), wrapper_stem(&item));
            wrappers.push((name.clone(), format!("map<{key}, {item}>")));
            name
        }
        Wire::Omitted => "bytes".into(),
    }
}

fn wrapper_stem(type_name: &str) -> String {
    let last = type_name.rsplit('.').next().unwrap_or(type_name);
    heck::AsUpperCamelCase(last).to_string()
}
