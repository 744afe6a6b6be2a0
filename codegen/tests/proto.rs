//! The proto emitter: fixture snapshots, the committed tree compiles and has exactly one rpc per
//! method and hook, special cases get their stream shapes, and field numbers survive an upgrade.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use codegen::Ir;
use codegen::emit::proto::{self, FieldLock};
use codegen::ir::ServiceKind;
use codegen::source::SourceSet;
use codegen::special::{Special, SpecialCases};
use common::*;
use prost_types::FileDescriptorSet;

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Writes proto files to a scratch directory and compiles them with protox.
fn compile(files: &[codegen::emit::GeneratedFile]) -> FileDescriptorSet {
    let dir = std::env::temp_dir().join(format!(
        "proto-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut names = Vec::new();
    for f in files {
        let rel = f
            .path
            .strip_prefix(&format!("{}/", proto::ROOT))
            .expect("under generated/proto");
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &f.contents).unwrap();
        names.push(rel.to_string());
    }
    let set = protox::compile(&names, [&dir])
        .unwrap_or_else(|e| panic!("generated proto does not compile: {e:?}"));
    std::fs::remove_dir_all(&dir).ok();
    set
}

/// rpc name → (client streaming, server streaming), per service.
fn rpcs(set: &FileDescriptorSet, service: &str) -> BTreeMap<String, (bool, bool)> {
    set.file
        .iter()
        .flat_map(|f| &f.service)
        .filter(|s| s.name() == service)
        .flat_map(|s| &s.method)
        .map(|m| {
            (
                m.name().to_string(),
                (m.client_streaming(), m.server_streaming()),
            )
        })
        .collect()
}

fn message_fields(set: &FileDescriptorSet, message: &str) -> Vec<(String, i32)> {
    set.file
        .iter()
        .flat_map(|f| &f.message_type)
        .find(|m| m.name() == message)
        .unwrap_or_else(|| panic!("message {message} exists"))
        .field
        .iter()
        .map(|f| (f.name().to_string(), f.number()))
        .collect()
}

#[test]
fn shapes_fixture_proto() {
    let ir = parse_fixture("shapes");
    let (files, _) = proto::emit(&ir, &FieldLock::default()).unwrap();
    compile(&files);
    let settings = snapshot_settings();
    for f in &files {
        let name = Path::new(&f.path)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        settings.bind(|| insta::assert_snapshot!(format!("proto__shapes_{name}"), f.contents));
    }
}

#[test]
fn special_cases_get_their_stream_shapes() {
    let ir = parse_fixture("shapes");
    let (files, _) = proto::emit(&ir, &FieldLock::default()).unwrap();
    let set = compile(&files);
    let api = rpcs(&set, "PluginAPI");
    let hooks = rpcs(&set, "PluginHooks");
    assert_eq!(api["Upload"], (true, false), "reader upload: client stream");
    assert_eq!(api["Forward"], (true, true), "plugin HTTP: bidirectional");
    assert_eq!(api["LogThing"], (false, false), "log key/values: unary");
    assert_eq!(hooks["ServeHTTP"], (true, true), "ServeHTTP: bidirectional");
    assert_eq!(
        hooks["FileWillBeStored"],
        (true, true),
        "file upload: bidirectional"
    );
    assert_eq!(
        hooks["MemberWillJoin"],
        (false, false),
        "replace-or-reject: unary"
    );

    let names = |m: &str| {
        message_fields(&set, m)
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    };
    assert_eq!(names("UploadRequest"), ["info", "data_chunk"]);
    assert_eq!(names("UploadResponse"), ["result", "error"]);
    assert_eq!(names("LogThingRequest"), ["msg", "key_value_pairs"]);
    assert_eq!(
        names("ServeHTTPRequest"),
        ["context", "head", "body_chunk", "body_complete"]
    );
    assert_eq!(
        names("ServeHTTPResponse"),
        ["head", "body_chunk", "flush", "body_complete"]
    );
    assert_eq!(
        names("ForwardRequest"),
        ["head", "body_chunk", "body_complete"]
    );
    assert_eq!(
        names("MemberWillJoinResponse"),
        ["replacement", "rejection_reason"]
    );
    assert_eq!(
        names("FileWillBeStoredRequest"),
        ["context", "info", "file_chunk", "file_complete"]
    );
    assert_eq!(
        names("FileWillBeStoredResponse"),
        [
            "replacement",
            "rejection_reason",
            "output_chunk",
            "complete"
        ]
    );
    assert_eq!(names("AddMemberResponse"), ["result", "app_error"]);
    assert_eq!(names("PageResponse"), ["result_0", "result_1", "app_error"]);
    assert_eq!(names("LookupResponse"), ["value", "found", "error"]);
    // JSON flattening of embedded structs: Base and *Audit fields are promoted into Member.
    let member = names("Member");
    assert_eq!(&member[..3], ["id", "create_at", "by"]);
    assert!(
        member.contains(&"secret".to_string()),
        "json:\"-\" fields still travel (gob carries them)"
    );
}

#[test]
fn config_out_param_travels_as_json() {
    // The pinned API: LoadPluginConfiguration's `dest any` becomes JSON bytes in the response.
    let set = committed_tree();
    let names: Vec<_> = message_fields(&set, "LoadPluginConfigurationResponse")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["configuration_json", "error"]);
    assert!(message_fields(&set, "LoadPluginConfigurationRequest").is_empty());
    let api = rpcs(&set, "PluginAPI");
    for (name, shape) in [
        ("InstallPlugin", (true, false)),
        ("UploadData", (true, false)),
        ("PluginHTTP", (true, true)),
    ] {
        assert_eq!(api[name], shape, "{name}");
    }
    let hooks = rpcs(&set, "PluginHooks");
    for name in ["ServeHTTP", "ServeMetrics", "FileWillBeUploaded"] {
        assert_eq!(hooks[name], (true, true), "{name}");
    }
}

fn committed_tree() -> FileDescriptorSet {
    let root = workspace_root().join(proto::ROOT);
    let files: Vec<String> = ["common", "model", "api", "hooks"]
        .iter()
        .map(|f| format!("{}/{f}.proto", proto::DIR))
        .collect();
    protox::compile(&files, [&root])
        .unwrap_or_else(|e| panic!("the committed proto tree does not compile: {e:?}"))
}

fn spec_ir() -> Ir {
    Ir::from_json(&std::fs::read_to_string(workspace_root().join("spec/ir.json")).unwrap()).unwrap()
}

#[test]
fn every_method_and_hook_has_exactly_one_rpc() {
    let ir = spec_ir();
    let set = committed_tree();
    for (kind, service) in [
        (ServiceKind::Api, "PluginAPI"),
        (ServiceKind::Hooks, "PluginHooks"),
    ] {
        let methods: Vec<String> = ir
            .service(kind)
            .unwrap()
            .methods
            .iter()
            .map(|m| m.name.clone())
            .collect();
        let declared: Vec<String> = set
            .file
            .iter()
            .flat_map(|f| &f.service)
            .filter(|s| s.name() == service)
            .flat_map(|s| &s.method)
            .map(|m| m.name().to_string())
            .collect();
        assert_eq!(
            declared, methods,
            "{service} has one rpc per Go method, in Go's order"
        );
    }
    let hooks = rpcs(&set, "PluginHooks");
    assert!(hooks.contains_key("Implemented"));
    assert!(ir.service(ServiceKind::Api).unwrap().methods.len() > 200);
}

#[test]
fn emission_is_deterministic_and_lock_stable() {
    let ir = spec_ir();
    let lock = FieldLock::from_json(
        &std::fs::read_to_string(workspace_root().join("spec/proto-lock.json")).unwrap(),
    )
    .unwrap();
    let (a, lock_a) = proto::emit(&ir, &lock).unwrap();
    let (b, lock_b) = proto::emit(&ir, &lock_a).unwrap();
    assert_eq!(a, b);
    assert_eq!(lock_a, lock_b);
    assert_eq!(
        lock_a, lock,
        "the committed lock already covers every field"
    );
}

const HOOKS: &str = "package plugin\n\nconst (\n\tOnStartID = 0\n)\n\ntype Hooks interface {\n\tOnStart() error\n}\n";
const API: &str = "package plugin\n\nimport \"github.com/mattermost/mattermost/server/public/model\"\n\ntype API interface {\n\tGetThing(id string) (*model.Thing, *model.AppError)\n}\n";

fn parse_mem(model: &str) -> Ir {
    let set = SourceSet::from_memory([
        ("plugin/api.go", API),
        ("plugin/hooks.go", HOOKS),
        ("model/thing.go", model),
    ]);
    codegen::parse::parse_with(
        &set,
        info("fixture"),
        SpecialCases {
            rows: &[],
            hook_defaults: &[],
        },
    )
    .unwrap()
}

/// v1 → v2: `Size` is removed, `Label` renamed to `Title` in Go, `Count` retyped, `Note` added,
/// `Owner` keeps its Go name but changes its json name.
#[test]
fn upgrade_keeps_numbers_and_reserves_the_rest() {
    let v1 = "package model\n\ntype AppError struct {\n\tId string `json:\"id\"`\n}\n\ntype Thing struct {\n\tId    string `json:\"id\"`\n\tSize  int64  `json:\"size\"`\n\tLabel string `json:\"label\"`\n\tCount int32  `json:\"count\"`\n\tOwner string `json:\"owner\"`\n}\n";
    let v2 = "package model\n\ntype AppError struct {\n\tId string `json:\"id\"`\n}\n\ntype Thing struct {\n\tId    string `json:\"id\"`\n\tTitle string `json:\"title\"`\n\tCount string `json:\"count\"`\n\tOwner string `json:\"owner_id\"`\n\tNote  *string `json:\"note,omitempty\"`\n}\n";
    let (_, lock1) = proto::emit(&parse_mem(v1), &FieldLock::default()).unwrap();
    let (files2, lock2) = proto::emit(&parse_mem(v2), &lock1).unwrap();
    let set = compile(&files2);
    assert_eq!(
        message_fields(&set, "Thing"),
        [
            ("id".into(), 1),
            ("title".into(), 6),
            ("count".into(), 7),
            ("owner_id".into(), 5),
            ("note".into(), 8)
        ]
    );
    let model = &files2
        .iter()
        .find(|f| f.path.ends_with("model.proto"))
        .unwrap()
        .contents;
    let thing = &model[model.find("message Thing {").unwrap()..];
    let thing = &thing[..thing.find("\n}").unwrap()];
    assert!(thing.contains("  reserved 2, 3, 4;"), "{thing}");
    assert!(thing.contains("  reserved \"size\", \"label\";"), "{thing}");
    // The retyped field keeps its name, so only its number is reserved.
    assert!(!thing.contains("\"count\""), "{thing}");

    // v3 brings `Size` back as it was: its own number again, no longer reserved (that number
    // never meant anything else). Going back to v1 renumbers nothing.
    let v3 = v2.replace(
        "\tNote  *string",
        "\tSize  int64  `json:\"size\"`\n\tNote  *string",
    );
    let (files3, lock3) = proto::emit(&parse_mem(&v3), &lock2).unwrap();
    let set = compile(&files3);
    let fields = message_fields(&set, "Thing");
    assert!(fields.contains(&("size".into(), 2)), "{fields:?}");
    assert_eq!(lock3.messages["Thing"].next, 9);
    assert!(
        !lock3.messages["Thing"]
            .reserved
            .iter()
            .any(|r| r.number == 2)
    );
    let (files1, _) = proto::emit(&parse_mem(v1), &lock3).unwrap();
    let set = compile(&files1);
    assert_eq!(
        message_fields(&set, "Thing"),
        [
            ("id".into(), 1),
            ("size".into(), 2),
            ("label".into(), 3),
            ("count".into(), 4),
            ("owner".into(), 5)
        ]
    );
}

#[test]
fn special_case_table_rows_are_all_exercised() {
    // Every Special variant appears in the pinned IR, so each row of the table has a live method.
    let ir = spec_ir();
    let mut seen: Vec<Special> = ir
        .services
        .iter()
        .flat_map(|s| &s.methods)
        .filter_map(|m| m.special)
        .collect();
    seen.sort_by_key(|s| format!("{s:?}"));
    seen.dedup();
    assert_eq!(seen.len(), 7, "{seen:?}");
}
