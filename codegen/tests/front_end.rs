//! The front-end on hand-written fixtures: IR snapshots, agreement with Go's own parser, located
//! errors for malformed input, and no panics on any truncation of valid input.

mod common;

use codegen::ir::ServiceKind;
use codegen::ir::Special;
use codegen::source::SourceSet;
use codegen::special::{SpecialCases, row};
use common::*;

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn shapes_fixture_ir() {
    let ir = parse_fixture("shapes");
    snapshot_settings().bind(|| insta::assert_snapshot!("front_end__shapes_ir", ir.to_json()));
}

#[test]
fn shapes_fixture_agrees_with_go() {
    let dir = fixture_dir("shapes");
    let ours = codegen::projection::project(&parse_fixture("shapes"));
    assert_same_projection(&ours, &go_reference(&dir));
}

#[test]
fn shapes_fixture_facts() {
    use codegen::ir::*;
    let ir = parse_fixture("shapes");
    let api = ir.service(ServiceKind::Api).unwrap();
    let add = &api.methods[0];
    assert_eq!(add.name, "AddMember");
    let names: Vec<_> = add
        .params
        .iter()
        .map(|p| (p.name.as_deref().unwrap(), p.wire_name.as_str()))
        .collect();
    assert_eq!(
        names,
        [("teamID", "A"), ("channelID", "B"), ("userID", "C")]
    );
    assert_eq!(add.tags, ["Team", "Channel"]);
    assert_eq!(add.min_server_version.as_deref(), Some("5.2"));
    assert_eq!(add.error, ErrorKind::AppError);

    let log = &api.methods[1];
    assert!(log.params[1].variadic);
    assert_eq!(log.params[1].ty.go_string(), "[]any");
    assert_eq!(log.error, ErrorKind::None);

    let lookup = &api.methods[2];
    assert_eq!(lookup.results.len(), 2);
    assert_eq!(lookup.error, ErrorKind::Error);
    assert_eq!(lookup.error_name.as_deref(), Some("err"));

    let last = api
        .methods
        .iter()
        .find(|m| m.name == "LastVersionWins")
        .unwrap();
    assert_eq!(last.min_server_version.as_deref(), Some("10.2"));
    let no_facts = api.methods.iter().find(|m| m.name == "NoFacts").unwrap();
    assert_eq!(
        (no_facts.min_server_version.as_ref(), no_facts.tags.len()),
        (None, 0)
    );

    let hooks = ir.service(ServiceKind::Hooks).unwrap();
    let ids: Vec<_> = hooks
        .methods
        .iter()
        .map(|m| (m.name.as_str(), m.hook_id, m.protocol))
        .collect();
    assert_eq!(
        ids,
        [
            ("OnStart", Some(0), false),
            ("Implemented", None, true),
            ("ServeHTTP", Some(2), false),
            ("MemberWillJoin", Some(1), false),
            ("FileWillBeStored", Some(3), false),
        ]
    );
    assert_eq!(
        hooks.retired_hook_ids,
        [HookId {
            name: "retiredHook".into(),
            id: 4
        }]
    );

    let kind = ir.find_type("model", "Kind").unwrap();
    let TypeKind::Named { enum_values, .. } = &kind.kind else {
        panic!("Kind is a named type")
    };
    let values: Vec<_> = enum_values
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("KindOpen", "O"),
            ("KindPrivate", "P"),
            ("KindAlias", "P"),
            ("KindDirect", "D")
        ]
    );

    let special: Vec<_> = api
        .methods
        .iter()
        .chain(&hooks.methods)
        .filter_map(|m| m.special.map(|s| (m.name.as_str(), s)))
        .collect();
    assert_eq!(
        special,
        [
            ("LogThing", Special::LogKeyValues),
            ("Upload", Special::ReaderUpload),
            ("Forward", Special::PluginHttp),
            ("ServeHTTP", Special::HttpStream),
            ("MemberWillJoin", Special::ReplaceOrReject),
            ("FileWillBeStored", Special::FileUploadStream),
        ]
    );
    let defaults: Vec<_> = hooks.methods.iter().map(|m| m.hook_default).collect();
    assert_eq!(
        defaults,
        [
            Some(HookDefault::Zero),
            None,
            Some(HookDefault::NotFound),
            Some(HookDefault::Zero),
            Some(HookDefault::ReturnParam(1)),
        ]
    );

    assert!(
        ir.find_type("model", "Tree.Meta.Owner").is_some(),
        "nested inline structs are lifted"
    );
    assert!(
        ir.find_type("model", "Shortcut").is_none(),
        "unreachable types stay out of the closure"
    );
    let ext: Vec<_> = ir.externals.iter().map(|e| e.go_string()).collect();
    assert!(ext.contains(&"io.Writer".to_string()) && ext.contains(&"time.Time".to_string()));
}

const API_HEAD: &str =
    "package plugin\n\nimport \"github.com/mattermost/mattermost/server/public/model\"\n\n";
const HOOKS_OK: &str = "package plugin\n\nconst (\n\tOnStartID = 0\n)\n\ntype Hooks interface {\n\tOnStart() error\n}\n";
const MODEL_OK: &str = "package model\n\ntype AppError struct {\n\tId string `json:\"id\"`\n}\n";

fn error_of(files: &[(&str, &str)], special: SpecialCases) -> String {
    let set = SourceSet::from_memory(files.iter().map(|(p, t)| (*p, *t)));
    match codegen::parse::parse_with(&set, info("fixture"), special) {
        Ok(_) => "no error".into(),
        Err(e) => e.to_string(),
    }
}

/// In-memory Go files: (path, text).
type Files = Vec<(&'static str, String)>;

fn api(body: &str) -> String {
    format!("{API_HEAD}type API interface {{\n{body}\n}}\n")
}

#[test]
fn malformed_inputs_give_located_errors() {
    const WRONG_SHAPE: SpecialCases = SpecialCases {
        rows: &[row(ServiceKind::Api, "Ping", Special::ReaderUpload)],
        hook_defaults: &[],
    };
    let special_cases: Vec<(&str, Files, SpecialCases)> = vec![
        (
            "a stream parameter without a special-case row",
            vec![
                (
                    "plugin/api.go",
                    api("\tRead(r io.Reader) error")
                        .replace("import \"", "import \"io\"\nimport \""),
                ),
                ("plugin/hooks.go", HOOKS_OK.into()),
                ("model/types.go", MODEL_OK.into()),
            ],
            NO_SPECIAL,
        ),
        (
            "an out-parameter and a variadic without rows",
            vec![
                (
                    "plugin/api.go",
                    api("\tLoad(dest any) error\n\tLog(msg string, kv ...string)"),
                ),
                ("plugin/hooks.go", HOOKS_OK.into()),
                ("model/types.go", MODEL_OK.into()),
            ],
            NO_SPECIAL,
        ),
        (
            "a special-case row that does not fit the method",
            vec![
                ("plugin/api.go", api("\tPing(name string) error")),
                ("plugin/hooks.go", HOOKS_OK.into()),
                ("model/types.go", MODEL_OK.into()),
            ],
            WRONG_SHAPE,
        ),
    ];
    let cases: Vec<(&str, Files)> = vec![
        (
            "syntax error inside a reached struct",
            vec![
                ("plugin/api.go", api("\tGet() *model.Broken")),
                ("plugin/hooks.go", HOOKS_OK.into()),
                (
                    "model/types.go",
                    format!(
                        "{MODEL_OK}\ntype Broken struct {{\n\tX int `json:\"x\"\n\tY [ string\n}}\n"
                    ),
                ),
            ],
        ),
        (
            "unknown local type",
            vec![
                (
                    "plugin/api.go",
                    api("\tGet(id string) (*model.Missing, *model.AppError)"),
                ),
                ("plugin/hooks.go", HOOKS_OK.into()),
                ("model/types.go", MODEL_OK.into()),
            ],
        ),
        (
            "external type without a mapping",
            vec![
                ("plugin/api.go", api("\tGet() *model.Locked")),
                ("plugin/hooks.go", HOOKS_OK.into()),
                (
                    "model/types.go",
                    format!("{MODEL_OK}\ntype Locked struct {{\n\tMu sync.Mutex\n}}\n")
                        .replace("package model\n", "package model\n\nimport \"sync\"\n"),
                ),
            ],
        ),
        (
            "package not imported",
            vec![
                ("plugin/api.go", api("\tRead(r io.Reader)")),
                ("plugin/hooks.go", HOOKS_OK.into()),
                ("model/types.go", MODEL_OK.into()),
            ],
        ),
        (
            "missing Hooks interface",
            vec![
                ("plugin/api.go", api("\tPing()")),
                ("model/types.go", MODEL_OK.into()),
            ],
        ),
        (
            "hook without an ID",
            vec![
                ("plugin/api.go", api("\tPing()")),
                (
                    "plugin/hooks.go",
                    HOOKS_OK.replace("\tOnStart() error\n", "\tOnStart() error\n\tOnStop()\n"),
                ),
                ("model/types.go", MODEL_OK.into()),
            ],
        ),
        (
            "two hooks share an ID",
            vec![
                ("plugin/api.go", api("\tPing()")),
                (
                    "plugin/hooks.go",
                    HOOKS_OK.replace("OnStartID = 0\n", "OnStartID = 0\n\tOnStopID = 0\n"),
                ),
                ("model/types.go", MODEL_OK.into()),
            ],
        ),
        (
            "embedded interface in API",
            vec![
                ("plugin/api.go", api("\tPing()\n\tOther")),
                ("plugin/hooks.go", HOOKS_OK.into()),
                ("model/types.go", MODEL_OK.into()),
            ],
        ),
        (
            "inline struct in a signature",
            vec![
                ("plugin/api.go", api("\tPut(v struct{ X int })")),
                ("plugin/hooks.go", HOOKS_OK.into()),
                ("model/types.go", MODEL_OK.into()),
            ],
        ),
        (
            "type declared twice",
            vec![
                ("plugin/api.go", api("\tGet() *model.AppError")),
                ("plugin/hooks.go", HOOKS_OK.into()),
                ("model/a.go", MODEL_OK.into()),
                ("model/b.go", MODEL_OK.into()),
            ],
        ),
        (
            "file in the wrong package",
            vec![
                ("plugin/api.go", api("\tPing()")),
                ("plugin/hooks.go", HOOKS_OK.into()),
                (
                    "model/types.go",
                    MODEL_OK.replace("package model", "package other"),
                ),
            ],
        ),
        (
            "type union as a type argument",
            vec![
                ("plugin/api.go", api("\tGet() model.Box[int | string]")),
                ("plugin/hooks.go", HOOKS_OK.into()),
                (
                    "model/types.go",
                    format!("{MODEL_OK}\ntype Box[T any] []T\n"),
                ),
            ],
        ),
        (
            "several problems are all reported",
            vec![
                (
                    "plugin/api.go",
                    api("\tA() *model.Nope\n\tB(x chan<- model.Gone)"),
                ),
                ("plugin/hooks.go", HOOKS_OK.into()),
                ("model/types.go", MODEL_OK.into()),
            ],
        ),
    ];
    let mut report = String::new();
    let all = cases
        .into_iter()
        .map(|(n, f)| (n, f, NO_SPECIAL))
        .chain(special_cases);
    for (name, files, special) in all {
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let error = error_of(&files, special);
        assert_ne!(error, "no error", "case `{name}` must fail");
        report.push_str(&format!("## {name}\n{error}\n\n"));
    }
    snapshot_settings().bind(|| insta::assert_snapshot!("front_end__malformed_inputs", report));
}

/// A row naming a method the source lacks (an older release, before the method was added) is a
/// located note, not an error: the rest of the table still applies.
#[test]
fn a_row_for_a_missing_method_is_a_note() {
    const STALE: SpecialCases = SpecialCases {
        rows: &[row(ServiceKind::Api, "Gone", Special::ReaderUpload)],
        hook_defaults: &[],
    };
    let api = api("\tPing()");
    let files = [
        ("plugin/api.go", api.as_str()),
        ("plugin/hooks.go", HOOKS_OK),
        ("model/types.go", MODEL_OK),
    ];
    let set = SourceSet::from_memory(files.iter().map(|(p, t)| (*p, *t)));
    let (ir, notes) = codegen::parse::parse_with_notes(&set, info("fixture"), STALE)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        ir.service(ServiceKind::Api)
            .unwrap()
            .methods
            .iter()
            .any(|m| m.name == "Ping")
    );
    let notes: Vec<String> = notes.iter().map(ToString::to_string).collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("plugin/api.go:") && notes[0].contains("`API.Gone`"),
        "{notes:?}"
    );
}

/// Any prefix of valid input parses or fails with diagnostics; it never panics.
#[test]
fn truncated_input_never_panics() {
    let dir = fixture_dir("shapes");
    let full = SourceSet::from_dir(&dir).unwrap();
    for (i, file) in full.files.iter().enumerate() {
        let len = file.text.len();
        for cut in (0..len).step_by(7).chain([len.saturating_sub(1)]) {
            if !file.text.is_char_boundary(cut) {
                continue;
            }
            let mut set = full.clone();
            set.files[i].text.truncate(cut);
            let result = std::panic::catch_unwind(|| {
                codegen::parse::parse_with(&set, info("fixture"), FIXTURE_SPECIAL)
            });
            assert!(
                result.is_ok(),
                "panic parsing {} cut at byte {cut}",
                file.path
            );
        }
    }
}
