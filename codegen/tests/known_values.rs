//! Untyped string constants as the known values of a `string` field (`<Struct><Field><Member>`):
//! what the front-end records on a hand-written fixture, the errors it and the emitters give when
//! the rule cannot decide, and what the targets make of the values.

mod common;

use codegen::Ir;
use codegen::emit::proto::FieldLock;
use codegen::ir::{Field, TypeKind};
use codegen::source::SourceSet;
use common::*;

fn fixture() -> Ir {
    parse_dir_with(&fixture_dir("known_values"), "fixture", NO_SPECIAL)
}

fn field<'a>(ir: &'a Ir, ty: &str, name: &str) -> &'a Field {
    let decl = ir.find_type("model", ty).unwrap_or_else(|| panic!("{ty}"));
    let TypeKind::Struct { fields, .. } = &decl.kind else {
        panic!("{ty} is a struct")
    };
    fields.iter().find(|f| f.name == name).unwrap()
}

/// (constant, value, `file:line`).
type Value = (String, String, String);

/// (prefix, values) of a field, or `None`.
fn known(ir: &Ir, ty: &str, name: &str) -> Option<(String, Vec<Value>)> {
    field(ir, ty, name).known_values.as_ref().map(|k| {
        let values = k
            .values
            .iter()
            .map(|v| {
                (
                    v.name.clone(),
                    v.value.clone(),
                    format!("{}:{}", v.file, v.line),
                )
            })
            .collect();
        (k.prefix.clone(), values)
    })
}

fn triples(items: &[(&str, &str, &str)]) -> Vec<Value> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn untyped_constants_become_known_values_of_the_field_they_name() {
    let ir = fixture();
    // Across const blocks and files, in source order; only string literals at a word boundary.
    assert_eq!(
        known(&ir, "Ticket", "Status"),
        Some((
            "TicketStatus".into(),
            triples(&[
                ("TicketStatusOpen", "open", "model/ticket.go:37"),
                ("TicketStatusOnHold", "on_hold", "model/ticket.go:38"),
                ("TicketStatusClosed", "closed", "model/ticket.go:60"),
                ("TicketStatusArchived", "archived", "model/zone.go:4"),
            ])
        ))
    );
    // `*string` too; a const typed plain `string` counts; implicit repetition repeats the value.
    assert_eq!(
        known(&ir, "Ticket", "Priority"),
        Some((
            "TicketPriority".into(),
            triples(&[
                ("TicketPriorityHigh", "high", "model/ticket.go:53"),
                ("TicketPriorityLow", "low", "model/ticket.go:56"),
                ("TicketPriorityLowest", "low", "model/ticket.go:57"),
            ])
        ))
    );
    // The longest prefix that names a field takes the constant.
    assert_eq!(
        known(&ir, "TicketStatusChange", "Reason"),
        Some((
            "TicketStatusChangeReason".into(),
            triples(&[(
                "TicketStatusChangeReasonManual",
                "manual",
                "model/ticket.go:43"
            )])
        ))
    );
    // `TicketReview` + `ReviewState` share the word `Review`: the same constants as
    // `Ticket` + `ReviewState`, so both fields list them.
    let review = Some((
        "TicketReviewState".into(),
        triples(&[
            ("TicketReviewStatePending", "pending", "model/ticket.go:45"),
            ("TicketReviewStateDone", "done", "model/ticket.go:46"),
        ]),
    ));
    assert_eq!(known(&ir, "Ticket", "ReviewState"), review);
    assert_eq!(known(&ir, "TicketReview", "ReviewState"), review);
    // Not string fields, inline structs, typed enums: nothing.
    for (ty, name) in [
        ("Ticket", "Id"),
        ("Ticket", "Tags"),
        ("Ticket", "Count"),
        ("Ticket", "Kind"),
        ("Ticket.Note", "Format"),
    ] {
        assert_eq!(known(&ir, ty, name), None, "{ty}.{name}");
    }
    let TypeKind::Named { enum_values, .. } = &ir.find_type("model", "TicketKind").unwrap().kind
    else {
        panic!("TicketKind is a named type")
    };
    assert_eq!(enum_values.len(), 2);

    // The IR round-trips, and an IR from before known values (no key) still loads.
    assert_eq!(Ir::from_json(&ir.to_json()).unwrap(), ir);
    let mut old = ir.clone();
    for t in &mut old.types {
        if let TypeKind::Struct { fields, .. } = &mut t.kind {
            fields.iter_mut().for_each(|f| f.known_values = None);
        }
    }
    assert!(!old.to_json().contains("known_values"));
    assert_eq!(Ir::from_json(&old.to_json()).unwrap(), old);
}

#[test]
fn known_values_reach_every_target() {
    let ir = fixture();
    let (files, _) =
        codegen::emit::all(&ir, &FieldLock::default()).unwrap_or_else(|e| panic!("{e}"));
    let file = |suffix: &str| {
        &files
            .iter()
            .find(|f| f.path.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix}"))
            .contents
    };
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!("known_values__enums_py", file("/enums.py"));
        insta::assert_snapshot!("known_values__enums_rs", file("src/enums.rs"));
    });
    let model = file("/model.proto");
    for note in [
        // Past 100 characters the note wraps.
        "  // Known values (untyped model.TicketStatus* constants, open set):\n  //   \"open\", \"on_hold\", \"closed\", \"archived\"\n  string status = 2;",
        "  // Known values (untyped model.TicketPriority* constants, open set): \"high\", \"low\"\n  optional string priority = 3;",
    ] {
        assert!(model.contains(note), "{note}\n---\n{model}");
    }
}

const HOOKS: &str = "package plugin\n\nconst (\n\tOnStartID = 0\n)\n\ntype Hooks interface {\n\tOnStart() error\n}\n";

fn api(ty: &str) -> String {
    format!(
        "package plugin\n\nimport \"github.com/mattermost/mattermost/server/public/model\"\n\ntype API interface {{\n\tGet() *model.{ty}\n}}\n"
    )
}

fn parse_mem(files: &[(&str, &str)]) -> Result<Ir, String> {
    let set = SourceSet::from_memory(files.iter().map(|(p, t)| (*p, *t)));
    codegen::parse::parse_with(&set, info("fixture"), NO_SPECIAL).map_err(|e| e.to_string())
}

/// Two fields of one struct whose names both lead to the constants' prefix: the rule cannot tell
/// which field they describe, so the parse stops at the first constant.
#[test]
fn constants_two_fields_could_claim_are_a_located_error() {
    let api = api("TaskResult");
    let model = "package model\n\ntype TaskResult struct {\n\tResultType string `json:\"result_type\"`\n\tType       string `json:\"type\"`\n}\n\nconst (\n\tTaskResultTypeOk     = \"ok\"\n\tTaskResultTypeFailed = \"failed\"\n)\n";
    let error = parse_mem(&[
        ("plugin/api.go", api.as_str()),
        ("plugin/hooks.go", HOOKS),
        ("model/task.go", model),
    ])
    .expect_err("ambiguous constants fail the parse");
    assert!(
        error.starts_with("model/task.go:9:2: constants `TaskResultType*` could list the values of `model.TaskResult.ResultType` or of `model.TaskResult.Type`"),
        "{error}"
    );
}

/// Known values named like a string type's enum would give two Python classes (and two Rust
/// modules) one name: the emitters refuse, naming both.
#[test]
fn a_known_values_name_taken_by_a_string_type_is_an_emit_error() {
    let api = api("Box");
    let model = "package model\n\ntype Box struct {\n\tColor string   `json:\"color\"`\n\tShade BoxColor `json:\"shade\"`\n}\n\ntype BoxColor string\n\nconst BoxColorRed BoxColor = \"red\"\n\nconst BoxColorBlue = \"blue\"\n";
    let ir = parse_mem(&[
        ("plugin/api.go", api.as_str()),
        ("plugin/hooks.go", HOOKS),
        ("model/box.go", model),
    ])
    .unwrap();
    assert!(field(&ir, "Box", "Color").known_values.is_some());
    let error = codegen::emit::enums::string_enums(&ir).expect_err("a name collision");
    assert_eq!(
        error.to_string(),
        "enums: `model.BoxColor` and untyped constants `model.BoxColor*`, the values of \
         `model.Box.Color` would both be named `BoxColor` / `box_color` in Python and Rust"
    );
    assert!(codegen::emit::all(&ir, &FieldLock::default()).is_err());
}

/// The rule on the pinned Mattermost source (as committed in `spec/ir.json`): the two groups it
/// was built for, and the exceptions that keep it from misfiring.
#[test]
fn pinned_spec_has_the_expected_known_values() {
    let path = workspace_root().join("spec/ir.json");
    let ir = Ir::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let names = |ty: &str, f: &str| -> Vec<String> {
        known(&ir, ty, f)
            .map(|(_, v)| v.into_iter().map(|(n, _, _)| n).collect())
            .unwrap_or_default()
    };
    let post = known(&ir, "Post", "Type").unwrap();
    assert_eq!(post.0, "PostType");
    assert!(post.1.iter().any(|(n, v, at)| n == "PostTypeJoinChannel"
        && v == "system_join_channel"
        && at.starts_with("model/post.go:")));
    assert!(!names("Post", "Type").contains(&"PostSystemMessagePrefix".to_string()));
    assert_eq!(
        names("CommandResponse", "ResponseType"),
        [
            "CommandResponseTypeInChannel",
            "CommandResponseTypeEphemeral"
        ]
    );
    assert_eq!(known(&ir, "CommandResponse", "Type"), None);
    let auth = names("User", "AuthService");
    assert!(
        auth.contains(&"UserAuthServiceEmail".to_string()),
        "{auth:?}"
    );
    assert!(
        !auth.iter().any(|n| n.starts_with("UserAuthServiceIs")),
        "{auth:?}"
    );
}

/// `regen`'s change list names known values added or removed, and says when only their place in
/// the source changed.
#[test]
fn regen_lists_known_value_changes() {
    let old = fixture();
    let mut new = old.clone();
    let mut moved = old.clone();
    for (ir, edit) in [(&mut new, 0), (&mut moved, 1)] {
        for t in &mut ir.types {
            let TypeKind::Struct { fields, .. } = &mut t.kind else {
                continue;
            };
            if t.name != "Ticket" {
                continue;
            }
            let status = fields.iter_mut().find(|f| f.name == "Status").unwrap();
            let values = &mut status.known_values.as_mut().unwrap().values;
            if edit == 0 {
                values.retain(|v| v.name != "TicketStatusOnHold");
                let mut added = values[0].clone();
                added.name = "TicketStatusSnoozed".into();
                added.value = "snoozed".into();
                values.push(added);
            } else {
                values.iter_mut().for_each(|v| v.line += 10);
            }
        }
    }
    assert_eq!(
        codegen::diff::changes(&old, &new),
        [
            "type changed: model.Ticket\n    known value added: Status: TicketStatusSnoozed = \"snoozed\"\n    known value removed: Status: TicketStatusOnHold = \"on_hold\""
        ]
    );
    assert!(
        codegen::diff::changes(&old, &moved).is_empty(),
        "constants that only moved are not an API change"
    );
}
