//! The IR seen the way `codegen/tests/go-reference/PROJECTION.md` describes: the shape the
//! differential test compares against Go's own parser.

use serde_json::{Map, Value, json};

use crate::ir::*;

/// Projects the IR onto the differential JSON shape.
pub fn project(ir: &Ir) -> Value {
    let mut services = Map::new();
    let mut hook_ids = Map::new();
    for service in &ir.services {
        let methods: Vec<Value> = service.methods.iter().map(project_method).collect();
        services.insert(service.name.go_name().to_string(), Value::Array(methods));
        for m in &service.methods {
            if let Some(id) = m.hook_id {
                hook_ids.insert(m.name.clone(), json!(id));
            }
        }
        for retired in &service.retired_hook_ids {
            hook_ids.insert(retired.name.clone(), json!(retired.id));
        }
    }
    let mut types = Map::new();
    for t in &ir.types {
        types.insert(t.qualified_name(), project_type(t));
    }
    let mut externals: Vec<String> = ir.externals.iter().map(External::go_string).collect();
    externals.sort();
    externals.dedup();
    json!({
        "services": services,
        "hook_ids": hook_ids,
        "types": types,
        "externals": externals,
    })
}

fn project_method(m: &Method) -> Value {
    let params: Vec<Value> = m
        .params
        .iter()
        .map(|p| json!({"name": p.name.clone().unwrap_or_default(), "type": p.ty.go_string(), "variadic": p.variadic}))
        .collect();
    let mut results: Vec<Value> = m
        .results
        .iter()
        .map(|r| json!({"name": r.name.clone().unwrap_or_default(), "type": r.ty.go_string()}))
        .collect();
    // The IR lifts the trailing error out of the results; Go lists it. Its name is not kept.
    let error_name = m.error_name.clone().unwrap_or_default();
    match m.error {
        ErrorKind::None => {}
        ErrorKind::Error => results.push(json!({"name": error_name, "type": "error"})),
        ErrorKind::AppError => results.push(json!({"name": error_name, "type": "*model.AppError"})),
    }
    json!({"name": m.name, "params": params, "results": results})
}

fn project_type(t: &TypeDecl) -> Value {
    let type_params: Vec<Value> = t
        .type_params
        .iter()
        .map(|p| Value::String(format!("{} {}", p.name, p.constraint.go_string())))
        .collect();
    match &t.kind {
        TypeKind::Struct { fields, skipped } => {
            let fields: Vec<Value> = fields
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name,
                        "json": f.json_name.clone().unwrap_or_default(),
                        "omitempty": f.omitempty,
                        "skip": f.json_skip,
                        "embedded": f.embedded,
                        "type": f.ty.go_string(),
                    })
                })
                .collect();
            let skipped: Vec<Value> = skipped
                .iter()
                .map(|s| json!({"name": s.name, "reason": s.reason.as_str()}))
                .collect();
            json!({"kind": "struct", "type_params": type_params, "fields": fields, "skipped": skipped})
        }
        TypeKind::Named {
            underlying,
            enum_values,
        } => {
            let values: Vec<Value> = enum_values
                .iter()
                .map(|v| json!({"name": v.name, "value": v.value}))
                .collect();
            json!({"kind": "named", "type_params": type_params, "underlying": underlying.go_string(), "enum": values})
        }
        TypeKind::Interface => json!({"kind": "interface", "type_params": type_params}),
        TypeKind::Alias { target } => {
            json!({"kind": "alias", "type_params": type_params, "underlying": target.go_string()})
        }
    }
}
