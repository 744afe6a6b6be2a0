//! Values whose gob and contract forms differ in kind rather than in name: `time.Time` and Go's
//! `any`. The generated conversions (`convert.rs`) call these.
//!
//! Hand-written: the generator copies this file verbatim from `templates/rust/`.

use std::sync::Arc;

use gobwire::{GoTime, Interface, Type, Value, Zone, names};
use mattermost_plugin_api::pb::{self, AnyList, AnyMap, AnyValue, any_value::Kind};

/// A Go `time.Time` as a timestamp; Go's zero time (absent from a gob struct) is none.
pub fn time_to_pb(time: GoTime) -> Option<prost_types::Timestamp> {
    (time != GoTime::default()).then(|| prost_types::Timestamp {
        seconds: time.unix(),
        nanos: time.nsec,
    })
}

/// A timestamp as a Go `time.Time` in UTC; none is Go's zero time.
pub fn time_from_pb(time: Option<prost_types::Timestamp>) -> GoTime {
    match time {
        None => GoTime::default(),
        Some(t) => GoTime::from_unix(t.seconds, t.nanos, Zone::Utc),
    }
}

/// A Go interface value as an `AnyValue`: its kind kept; a struct becomes a map by field name.
pub fn any_to_pb(value: Option<Interface>) -> Option<AnyValue> {
    value.map(|i| value_to_pb(&i.ty, i.value))
}

/// An `AnyValue` as a Go interface value, under the names Go registers for its basic types
/// (integers as `int64`, unsigned as `uint64`, lists as `[]interface {}`, maps as
/// `map[string]interface {}`).
pub fn any_from_pb(value: Option<AnyValue>) -> Option<Interface> {
    let (name, ty, value) = match value?.kind? {
        Kind::BoolValue(b) => (names::BOOL, Type::Bool, Value::Bool(b)),
        Kind::IntValue(i) => (names::INT64, Type::Int, Value::Int(i)),
        Kind::UintValue(u) => ("uint64", Type::Uint, Value::Uint(u)),
        Kind::FloatValue(f) => (names::FLOAT64, Type::Float, Value::Float(f)),
        Kind::StringValue(s) => (names::STRING, Type::String, Value::String(s)),
        Kind::BytesValue(b) => (names::BYTES, Type::Bytes, Value::Bytes(b)),
        Kind::ListValue(l) => (
            names::ANY_SLICE,
            Type::Slice(Arc::new(Type::Interface)),
            Value::Slice(
                l.values
                    .into_iter()
                    .map(|v| Value::Interface(any_from_pb(Some(v)).map(Box::new)))
                    .collect(),
            ),
        ),
        Kind::MapValue(m) => (
            names::STRING_ANY_MAP,
            Type::Map(Arc::new(Type::String), Arc::new(Type::Interface)),
            Value::Map(
                m.entries
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            Value::String(k),
                            Value::Interface(any_from_pb(Some(v)).map(Box::new)),
                        )
                    })
                    .collect(),
            ),
        ),
    };
    Some(Interface {
        name: name.to_string(),
        ty,
        value,
    })
}

/// A Go `map[string]any` as an `AnyMap`; a nil map is none.
pub fn anymap_to_pb(map: std::collections::HashMap<String, Option<Interface>>) -> Option<AnyMap> {
    (!map.is_empty()).then(|| AnyMap {
        entries: map
            .into_iter()
            .map(|(k, v)| (k, any_to_pb(v).unwrap_or_default()))
            .collect(),
    })
}

/// An `AnyMap` as a Go `map[string]any`.
pub fn anymap_from_pb(map: Option<AnyMap>) -> std::collections::HashMap<String, Option<Interface>> {
    map.map(|m| {
        m.entries
            .into_iter()
            .map(|(k, v)| (k, any_from_pb(Some(v))))
            .collect()
    })
    .unwrap_or_default()
}

fn of(kind: Kind) -> AnyValue {
    AnyValue { kind: Some(kind) }
}

fn value_to_pb(ty: &Type, value: Value) -> AnyValue {
    match value {
        Value::Bool(b) => of(Kind::BoolValue(b)),
        Value::Int(i) => of(Kind::IntValue(i)),
        Value::Uint(u) => of(Kind::UintValue(u)),
        Value::Float(f) => of(Kind::FloatValue(f)),
        Value::Complex(re, _) => of(Kind::FloatValue(re)),
        Value::Bytes(b) | Value::Marshaled(b) => of(Kind::BytesValue(b)),
        Value::String(s) => of(Kind::StringValue(s)),
        Value::Interface(inner) => any_to_pb(inner.map(|b| *b)).unwrap_or_default(),
        Value::Slice(items) | Value::Array(items) => {
            let elem = match ty {
                Type::Slice(e) | Type::Array(e, _) => e.as_ref(),
                _ => &Type::Interface,
            };
            of(Kind::ListValue(AnyList {
                values: items.into_iter().map(|v| value_to_pb(elem, v)).collect(),
            }))
        }
        Value::Map(pairs) => {
            let (key_ty, value_ty) = match ty {
                Type::Map(k, v) => (k.as_ref(), v.as_ref()),
                _ => (&Type::Interface, &Type::Interface),
            };
            of(Kind::MapValue(AnyMap {
                entries: pairs
                    .into_iter()
                    .map(|(k, v)| (key_text(key_ty, k), value_to_pb(value_ty, v)))
                    .collect(),
            }))
        }
        Value::Struct(fields) => {
            let Type::Struct(st) = ty else {
                return AnyValue::default();
            };
            of(Kind::MapValue(AnyMap {
                entries: st
                    .fields
                    .iter()
                    .zip(fields)
                    .filter_map(|((name, t), v)| Some((name.clone(), value_to_pb(t, v?))))
                    .collect(),
            }))
        }
    }
}

/// A map key as text, the way `encoding/json` writes non-string keys.
fn key_text(ty: &Type, key: Value) -> String {
    match value_to_pb(ty, key).kind {
        Some(Kind::StringValue(s)) => s,
        Some(Kind::IntValue(i)) => i.to_string(),
        Some(Kind::UintValue(u)) => u.to_string(),
        Some(Kind::FloatValue(f)) => f.to_string(),
        Some(Kind::BoolValue(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// The name Mattermost registers its error carrier under (`gob.Register(&ErrorString{})`): an
/// error's text and its net/rpc code (io.EOF, sql.ErrNoRows, …).
const ERROR_STRING: &str = "*plugin.ErrorString";

/// A Go `error` result as the contract's `Error`: text and code, which is all Mattermost's
/// net/rpc layer keeps of an error.
pub fn error_to_pb(value: Option<Interface>) -> Option<pb::Error> {
    let value = value?;
    let mut error = pb::Error::default();
    match (&value.ty, value.value) {
        (Type::Struct(st), Value::Struct(fields)) => {
            for ((name, _), field) in st.fields.iter().zip(fields) {
                match (name.as_str(), field) {
                    ("Err", Some(Value::String(s))) => error.message = s,
                    ("Code", Some(Value::Int(c))) => error.code = u32::try_from(c).unwrap_or(0),
                    _ => {}
                }
            }
        }
        (_, Value::String(s)) => error.message = s,
        _ => {}
    }
    Some(error)
}

/// The contract's `Error` as the Go `error` Mattermost's net/rpc layer sends.
pub fn error_from_pb(error: pb::Error) -> Option<Interface> {
    let ty = Type::Struct(Arc::new(gobwire::StructType {
        name: "ErrorString".into(),
        fields: vec![("Code".into(), Type::Int), ("Err".into(), Type::String)],
    }));
    let value = Value::Struct(vec![
        (error.code != 0).then(|| Value::Int(i64::from(error.code))),
        (!error.message.is_empty()).then_some(Value::String(error.message)),
    ]);
    Some(Interface {
        name: ERROR_STRING.into(),
        ty,
        value,
    })
}

/// A slice or map that Go holds behind a pointer (`*[]string`): empty on the contract is nil.
pub fn non_empty<T: Collection>(value: T) -> Option<T> {
    (!value.is_empty_collection()).then_some(value)
}

/// Slices and maps, for [`non_empty`].
pub trait Collection {
    fn is_empty_collection(&self) -> bool;
}

impl<T> Collection for Vec<T> {
    fn is_empty_collection(&self) -> bool {
        self.is_empty()
    }
}

impl<K, V> Collection for std::collections::HashMap<K, V> {
    fn is_empty_collection(&self) -> bool {
        self.is_empty()
    }
}
