//! The one Go → proto type-mapping table. `docs/PROTO_MAPPING.md` describes the same rules.

use std::collections::HashMap;

use super::types::{FieldType, Scalar, ValueType};
use crate::externals::ExternalMapping;
use crate::ir::{Ir, TypeKind, TypeRef};

/// A Go type as it travels in proto, before it is fitted into a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// A single value: a scalar or a message.
    One(ValueType),
    /// A pointer to a scalar: presence matters.
    Optional(Box<Wire>),
    List(Box<Wire>),
    Map(Scalar, Box<Wire>),
    /// Not carried at all (function values).
    Omitted,
}

/// Predeclared Go types → proto scalars. `int` and `uint` are 64-bit on every platform
/// Mattermost supports.
const BUILTINS: &[(&str, Scalar)] = &[
    ("bool", Scalar::Bool),
    ("byte", Scalar::Uint32),
    ("float32", Scalar::Float),
    ("float64", Scalar::Double),
    ("int", Scalar::Int64),
    ("int16", Scalar::Int32),
    ("int32", Scalar::Int32),
    ("int64", Scalar::Int64),
    ("int8", Scalar::Int32),
    ("rune", Scalar::Int32),
    ("string", Scalar::String),
    ("uint", Scalar::Uint64),
    ("uint16", Scalar::Uint32),
    ("uint32", Scalar::Uint32),
    ("uint64", Scalar::Uint64),
    ("uint8", Scalar::Uint32),
    ("uintptr", Scalar::Uint64),
];

fn scalar(s: Scalar) -> Wire {
    Wire::One(ValueType::Scalar(s))
}

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
                "any" => Wire::One(ValueType::Any),
                "error" => Wire::One(ValueType::Message("Error".into())),
                other => match BUILTINS.iter().find(|(g, _)| *g == other) {
                    Some((_, p)) => scalar(*p),
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
                        Wire::One(ValueType::Message(
                            self.message_names
                                .get(&qualified)
                                .cloned()
                                .ok_or_else(|| format!("no message for `{qualified}`"))?,
                        ))
                    }
                    // Interfaces carry whatever JSON value the concrete type encodes to.
                    TypeKind::Interface => Wire::One(ValueType::Any),
                    TypeKind::Alias { target } => self.map_in(target, &inner_subst, depth + 1)?,
                    TypeKind::Named { underlying, .. } => {
                        self.map_in(underlying, &inner_subst, depth + 1)?
                    }
                }
            }
            TypeRef::External { path, name, .. } => match crate::externals::mapping(path, name) {
                Some(ExternalMapping::Timestamp) => Wire::One(ValueType::Timestamp),
                Some(ExternalMapping::DurationNanos) => scalar(Scalar::Int64),
                Some(ExternalMapping::RawJson | ExternalMapping::OpaqueJson) => {
                    scalar(Scalar::Bytes)
                }
                Some(ExternalMapping::String) => scalar(Scalar::String),
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
                s @ Wire::One(ValueType::Scalar(_)) => Wire::Optional(Box::new(s)),
                other => other,
            },
            TypeRef::Slice(elem) | TypeRef::Array { elem, .. } => {
                if is_byte(elem, subst) {
                    scalar(Scalar::Bytes)
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
                    Wire::One(ValueType::Scalar(s)) if s.is_map_key() => s,
                    other => {
                        return Err(format!(
                            "map key `{}` maps to {other:?}, which proto maps cannot key on",
                            key.go_string()
                        ));
                    }
                };
                let value_is_any = matches!(&**value, TypeRef::Builtin(b) if b == "any");
                if key_scalar == Scalar::String && value_is_any {
                    Wire::One(ValueType::AnyMap)
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

/// A wire shape fitted into one proto field: a label plus the wrapper messages nested lists and
/// maps need (proto has no `repeated repeated`).
pub struct FieldShape {
    pub ty: FieldType,
    /// Wrapper messages this field needs: (name, its single field's type).
    pub wrappers: Vec<(String, FieldType)>,
}

pub fn field_shape(wire: &Wire) -> FieldShape {
    let mut wrappers = Vec::new();
    let ty = match wire {
        Wire::List(inner) => FieldType::Repeated(element(inner, &mut wrappers)),
        Wire::Map(key, value) => FieldType::Map(*key, element(value, &mut wrappers)),
        Wire::Optional(inner) => match element(inner, &mut wrappers) {
            ValueType::Scalar(s) => FieldType::Optional(s),
            // Messages have presence already.
            other => FieldType::Single(other),
        },
        other => FieldType::Single(element(other, &mut wrappers)),
    };
    FieldShape { ty, wrappers }
}

/// The type of something that must be a single value: nested lists and maps get a wrapper.
fn element(wire: &Wire, wrappers: &mut Vec<(String, FieldType)>) -> ValueType {
    match wire {
        Wire::One(v) => v.clone(),
        Wire::Optional(inner) => element(inner, wrappers),
        Wire::List(inner) => {
            let item = element(inner, wrappers);
            let name = format!("{}List", item.stem());
            wrappers.push((name.clone(), FieldType::Repeated(item)));
            ValueType::Message(name)
        }
        Wire::Map(key, value) => {
            let item = element(value, wrappers);
            let name = format!("{}To{}Map", ValueType::Scalar(*key).stem(), item.stem());
            wrappers.push((name.clone(), FieldType::Map(*key, item)));
            ValueType::Message(name)
        }
        Wire::Omitted => ValueType::Scalar(Scalar::Bytes),
    }
}
