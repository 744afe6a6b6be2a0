//! Validation of the generated proto tree: it compiles (protox), `buf lint` passes, and
//! `buf breaking` (WIRE_JSON) finds nothing against the proto of the previous commit that touched it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use codegen::emit::proto::lock::FieldLock;
use codegen::emit::proto::{DIR, ROOT};

/// Problems found, one entry each; empty when the tree is valid.
pub fn validate(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let proto_root = root.join(ROOT);
    let files = crate::files_under(&proto_root, DIR);
    if let Err(e) = protox::compile(&files, [&proto_root]) {
        problems.push(format!("{ROOT} does not compile: {e}"));
        return Ok(problems);
    }
    println!("proto: {} files compile", files.len());

    let buf = ensure_buf()?;
    let lint = Command::new(&buf)
        .arg("lint")
        .current_dir(root)
        .output()
        .context("running buf lint")?;
    if lint.status.success() {
        println!("proto: buf lint clean");
    } else {
        problems.push(format!(
            "buf lint:\n{}{}",
            String::from_utf8_lossy(&lint.stdout),
            String::from_utf8_lossy(&lint.stderr)
        ));
    }

    match previous_proto_commit(root) {
        None => println!("proto: no earlier committed proto to compare with; buf breaking skipped"),
        Some(base) => {
            // The workspace input reads buf.yaml (module path, WIRE_JSON rules) on both sides.
            let against = format!(".git#ref={base}");
            let out = Command::new(&buf)
                .args(["breaking", "--against", &against, "--error-format", "json"])
                .current_dir(root)
                .output()
                .context("running buf breaking")?;
            let lock = std::fs::read_to_string(root.join(crate::SPEC_LOCK))
                .ok()
                .and_then(|text| FieldLock::from_json(&text).ok())
                .unwrap_or_default();
            let (accepted, breaks) = sort_findings(&String::from_utf8_lossy(&out.stdout), &lock);
            let short = &base[..base.len().min(12)];
            if out.status.success() || (breaks.is_empty() && accepted.any()) {
                println!("proto: no wire/JSON breaking change against {short}");
                if accepted.renames > 0 {
                    println!(
                        "proto: {} name change(s) against {short} are field renames recorded in {} (`renamed_from`)",
                        accepted.renames,
                        crate::SPEC_LOCK
                    );
                }
                if accepted.retypes > 0 {
                    println!(
                        "proto: {} finding(s) against {short} are retyped fields under new numbers, old ones reserved ({})",
                        accepted.retypes,
                        crate::SPEC_LOCK
                    );
                }
                if accepted.restored > 0 {
                    println!(
                        "proto: {} reservation(s) dropped against {short} are fields back under their own number and name ({})",
                        accepted.restored,
                        crate::SPEC_LOCK
                    );
                }
            } else {
                problems.push(format!(
                    "buf breaking (WIRE_JSON) against {base}:\n{}{}",
                    breaks.join("\n"),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    Ok(problems)
}

/// Findings `buf breaking` reports that the lock shows are not breaks.
#[derive(Debug, Default, PartialEq, Eq)]
struct Accepted {
    /// A field keeping its key and number under a better name changes its proto and JSON names.
    renames: usize,
    /// A field that comes back (same key and wire type) takes its number and name out of
    /// `reserved` again.
    restored: usize,
    /// A retyped field: its key keeps the name under a new number, and the old number stays
    /// reserved (recorded in the lock's `retired`), so no peer reads one type as the other. buf
    /// sees the old field deleted without its name reserved (and, for a map, its entry's value
    /// retyped).
    retypes: usize,
}

impl Accepted {
    fn any(&self) -> bool {
        self.renames + self.restored + self.retypes > 0
    }
}

/// Splits `buf breaking --error-format json` output into the findings the lock accounts for
/// (see [`Accepted`]) and the rest, rendered `path:line:col: message`.
fn sort_findings(output: &str, lock: &FieldLock) -> (Accepted, Vec<String>) {
    let mut accepted = Accepted::default();
    let mut breaks = Vec::new();
    let findings: Vec<Result<serde_json::Value, &str>> = output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|_| l))
        .collect();
    let restored = restored_numbers(&findings, lock);
    for finding in findings {
        let finding = match finding {
            Ok(f) => f,
            Err(line) => {
                breaks.push(line.to_string());
                continue;
            }
        };
        let text = |key: &str| finding[key].as_str().unwrap_or_default().to_string();
        let message = text("message");
        if is_recorded_rename(&text("type"), &message, lock) {
            accepted.renames += 1;
            continue;
        }
        if is_restored_field(&text("type"), &message, lock, &restored) {
            accepted.restored += 1;
            continue;
        }
        if is_recorded_retype(&text("type"), &message, lock) {
            accepted.retypes += 1;
            continue;
        }
        breaks.push(format!(
            "{}:{}:{}: {message}",
            text("path"),
            finding["start_line"],
            finding["start_column"]
        ));
    }
    (accepted, breaks)
}

/// Whether a FIELD_SAME_NAME / FIELD_SAME_JSON_NAME finding is a rename recorded in the lock:
/// the message's field (by number) has the new name and lists the old one in `renamed_from`.
fn is_recorded_rename(kind: &str, message: &str, lock: &FieldLock) -> bool {
    // buf's messages: `Field "1" on message "M" changed name from "a" to "b".` and
    // `Field "1" with name "b" on message "M" changed option "json_name" from "A" to "B".`
    let quoted: Vec<&str> = message.split('"').skip(1).step_by(2).collect();
    let (number, message_name, from, to) = match (kind, quoted.as_slice()) {
        ("FIELD_SAME_NAME", [number, message_name, from, to]) => {
            (*number, *message_name, *from, *to)
        }
        ("FIELD_SAME_JSON_NAME", [number, _, message_name, _, from, to]) => {
            (*number, *message_name, *from, *to)
        }
        _ => return false,
    };
    let Some(field) = lock
        .messages
        .get(message_name)
        .and_then(|m| m.fields.values().find(|f| number.parse() == Ok(f.number)))
    else {
        return false;
    };
    let spell = |name: &str| match kind {
        "FIELD_SAME_JSON_NAME" => json_name(name),
        _ => name.to_string(),
    };
    spell(&field.name) == to && field.renamed_from.iter().any(|old| spell(old) == from)
}

/// buf's `RESERVED_MESSAGE_NO_DELETE` findings: `Previously present reserved range "[18]" on
/// message "M" is missing values: [18] were removed.` and `Previously present reserved name "a"
/// on message "M" was deleted.` As (message, numbers) or (message, name).
enum DroppedReservation {
    Numbers(String, Vec<u32>),
    Name(String, String),
}

fn dropped_reservation(kind: &str, message: &str) -> Option<DroppedReservation> {
    if kind != "RESERVED_MESSAGE_NO_DELETE" {
        return None;
    }
    let quoted: Vec<&str> = message.split('"').skip(1).step_by(2).collect();
    if message.starts_with("Previously present reserved name ") {
        let [name, message_name] = quoted.as_slice() else {
            return None;
        };
        return Some(DroppedReservation::Name(
            message_name.to_string(),
            name.to_string(),
        ));
    }
    if !message.starts_with("Previously present reserved range ") {
        return None;
    }
    let [_, message_name] = quoted.as_slice() else {
        return None;
    };
    let values = message
        .split_once("missing values: [")?
        .1
        .split_once(']')?
        .0;
    let numbers: Option<Vec<u32>> = values.split(',').map(|n| n.trim().parse().ok()).collect();
    Some(DroppedReservation::Numbers(
        message_name.to_string(),
        numbers?,
    ))
}

/// Per message, the formerly reserved numbers that a field holds again in the lock. The lock
/// never hands a number to a second key: a reserved number back in use is the key that had it,
/// back with the wire type it had, so peers on either side read it as they did.
fn restored_numbers(
    findings: &[Result<serde_json::Value, &str>],
    lock: &FieldLock,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<u32>> {
    let mut restored: std::collections::BTreeMap<String, std::collections::BTreeSet<u32>> =
        Default::default();
    for finding in findings.iter().flatten() {
        let text = |key: &str| finding[key].as_str().unwrap_or_default().to_string();
        if let Some(DroppedReservation::Numbers(message, numbers)) =
            dropped_reservation(&text("type"), &text("message"))
        {
            let live = |n: &u32| {
                lock.messages
                    .get(&message)
                    .is_some_and(|m| m.fields.values().any(|f| f.number == *n))
            };
            if numbers.iter().all(live) {
                restored.entry(message).or_default().extend(numbers);
            }
        }
    }
    restored
}

/// Whether a dropped reservation is a field coming back: every number is held again by its
/// field (see [`restored_numbers`]), and a name is that of a field whose number came back too.
fn is_restored_field(
    kind: &str,
    message: &str,
    lock: &FieldLock,
    restored: &std::collections::BTreeMap<String, std::collections::BTreeSet<u32>>,
) -> bool {
    match dropped_reservation(kind, message) {
        Some(DroppedReservation::Numbers(message, numbers)) => restored
            .get(&message)
            .is_some_and(|r| numbers.iter().all(|n| r.contains(n))),
        Some(DroppedReservation::Name(message, name)) => {
            let (Some(entry), Some(numbers)) =
                (lock.messages.get(&message), restored.get(&message))
            else {
                return false;
            };
            entry
                .fields
                .values()
                .any(|f| f.name == name && numbers.contains(&f.number))
        }
        None => false,
    }
}

/// Whether a finding is a retype the lock records: `FIELD_NO_DELETE_UNLESS_NAME_RESERVED` for a
/// number the message retired (with that name) while a live field carries the name under
/// another number; or a type change (`FIELD_SAME_TYPE`, `FIELD_WIRE_JSON_COMPATIBLE_TYPE`) of the
/// value of such a field's map entry message
/// (`PluginsEntry` for `plugins`).
fn is_recorded_retype(kind: &str, message: &str, lock: &FieldLock) -> bool {
    // buf's messages: `Previously present field "7" with name "plugins" on message "M" was
    // deleted without reserving the name "plugins".` and `Field "2" with name "value" on
    // message "PluginsEntry" changed type from "A" to "B".`
    let quoted: Vec<&str> = message.split('"').skip(1).step_by(2).collect();
    let retyped = |entry: &codegen::emit::proto::lock::MessageLock, name: &str| {
        entry.fields.values().any(|live| {
            live.name == name
                && entry.retired.values().any(|old| {
                    old.name == name
                        && old.number != live.number
                        && old.wire != live.wire
                        && entry.reserved.iter().any(|r| r.number == old.number)
                })
        })
    };
    match (kind, quoted.as_slice()) {
        ("FIELD_NO_DELETE_UNLESS_NAME_RESERVED", [number, name, message_name, _]) => {
            lock.messages.get(*message_name).is_some_and(|entry| {
                entry
                    .retired
                    .values()
                    .any(|old| number.parse() == Ok(old.number) && old.name == *name)
                    && retyped(entry, name)
            })
        }
        (
            "FIELD_SAME_TYPE" | "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
            [_, "value", entry_message, ..],
        ) => {
            let Some(stem) = entry_message.strip_suffix("Entry") else {
                return false;
            };
            lock.messages.values().any(|entry| {
                entry.retired.values().any(|old| {
                    heck::AsUpperCamelCase(&old.name).to_string() == stem
                        && old.wire.starts_with("map<")
                        && retyped(entry, &old.name)
                })
            })
        }
        _ => false,
    }
}

/// protoc's default `json_name`: lowerCamelCase of the proto field name.
fn json_name(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The commit whose proto the tree must stay compatible with: the last commit that touched the
/// proto when the work tree changes it, otherwise the one before that.
fn previous_proto_commit(root: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
    };
    let log = git(&["log", "-2", "--format=%H", "--", ROOT])?;
    let commits: Vec<String> = String::from_utf8_lossy(&log.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let dirty = git(&["status", "--porcelain", "--", ROOT]).is_some_and(|o| !o.stdout.is_empty());
    if dirty {
        commits.first().cloned()
    } else {
        commits.get(1).cloned()
    }
}

/// The `buf` binary from npm (`tools/package.json`), installed on first use.
fn ensure_buf() -> Result<PathBuf> {
    let tools = crate::root().join("tools");
    let buf = tools.join("node_modules/.bin/buf");
    if !buf.exists() {
        let mut cmd = Command::new("npm");
        cmd.args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&tools);
        crate::run(cmd, "npm ci (tools: buf)")?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_recorded_in_the_lock_are_accepted_and_nothing_else() {
        let lock = FieldLock::from_json(
            r#"{"messages": {"M": {"next": 3, "fields": {
                "UserIDs": {"number": 1, "name": "user_ids", "wire": "repeated string", "renamed_from": ["user_i_ds"]},
                "Other": {"number": 2, "name": "other", "wire": "string"}}}}}"#,
        )
        .unwrap();
        let output = [
            r#"{"path":"a.proto","start_line":3,"start_column":5,"type":"FIELD_SAME_NAME","message":"Field \"1\" on message \"M\" changed name from \"user_i_ds\" to \"user_ids\"."}"#,
            r#"{"path":"a.proto","start_line":3,"start_column":5,"type":"FIELD_SAME_JSON_NAME","message":"Field \"1\" with name \"user_ids\" on message \"M\" changed option \"json_name\" from \"userIDs\" to \"userIds\"."}"#,
            r#"{"path":"a.proto","start_line":4,"start_column":5,"type":"FIELD_SAME_NAME","message":"Field \"2\" on message \"M\" changed name from \"before\" to \"other\"."}"#,
            r#"{"path":"a.proto","start_line":5,"start_column":1,"type":"FIELD_SAME_TYPE","message":"Field \"1\" on message \"M\" changed type from \"string\" to \"int64\"."}"#,
        ]
        .join("\n");
        let (accepted, breaks) = sort_findings(&output, &lock);
        assert_eq!(
            accepted,
            Accepted {
                renames: 2,
                restored: 0,
                retypes: 0,
            }
        );
        assert_eq!(breaks.len(), 2, "{breaks:?}");
        assert!(
            breaks[0].starts_with("a.proto:4:5: Field \"2\""),
            "{breaks:?}"
        );
        assert!(breaks[1].contains("changed type"), "{breaks:?}");
    }

    /// A field back under its own number and name (the lock restored it) drops a reservation,
    /// which buf reports; a reservation dropped for anything else is still a break.
    #[test]
    fn fields_back_under_their_own_number_are_accepted_and_nothing_else() {
        let lock = FieldLock::from_json(
            r#"{"messages": {"M": {"next": 9, "fields": {
                "Back": {"number": 2, "name": "back", "wire": "string"},
                "Kept": {"number": 3, "name": "kept", "wire": "string"},
                "Renamed": {"number": 8, "name": "gone", "wire": "bool"}},
                "reserved": [{"number": 4, "name": ""}]}}}"#,
        )
        .unwrap();
        let finding = |text: &str| {
            serde_json::json!({
                "path": "a.proto", "start_line": 1, "start_column": 1,
                "type": "RESERVED_MESSAGE_NO_DELETE", "message": text,
            })
            .to_string()
        };
        let output = [
            finding(
                r#"Previously present reserved range "[2]" on message "M" is missing values: [2] were removed."#,
            ),
            finding(r#"Previously present reserved name "back" on message "M" was deleted."#),
            // 5 is held by no field: a reservation lost.
            finding(
                r#"Previously present reserved range "[5]" on message "M" is missing values: [5] were removed."#,
            ),
            // A name taken by a field whose number did not come back.
            finding(r#"Previously present reserved name "gone" on message "M" was deleted."#),
            finding(
                r#"Previously present reserved range "[2]" on message "Other" is missing values: [2] were removed."#,
            ),
        ]
        .join("\n");
        let (accepted, breaks) = sort_findings(&output, &lock);
        assert_eq!(
            accepted,
            Accepted {
                renames: 0,
                restored: 2,
                retypes: 0,
            }
        );
        assert_eq!(breaks.len(), 3, "{breaks:?}");
        assert!(breaks[0].contains("[5]"), "{breaks:?}");
        assert!(breaks[1].contains("\"gone\""), "{breaks:?}");
        assert!(breaks[2].contains("\"Other\""), "{breaks:?}");
    }

    /// A retype the lock records (new number, old one reserved and retired under the same name)
    /// shows as the old field deleted without its name reserved, and for a map as its entry's
    /// value retyped; both are accepted. A deleted field the lock does not explain is a break.
    #[test]
    fn retypes_recorded_in_the_lock_are_accepted_and_nothing_else() {
        let lock = FieldLock::from_json(
            r#"{"messages": {"M": {"next": 10, "fields": {
                "Props": {"number": 8, "name": "props", "wire": "AnyMap"},
                "Plugins": {"number": 9, "name": "plugins", "wire": "map<string, AnyMap>"},
                "Other": {"number": 3, "name": "other", "wire": "string"}},
                "reserved": [{"number": 2, "name": "props"}, {"number": 7, "name": "plugins"}],
                "retired": {
                    "Props": {"number": 2, "name": "props", "wire": "google.protobuf.Struct"},
                    "Plugins": {"number": 7, "name": "plugins", "wire": "map<string, google.protobuf.Struct>"}}}}}"#,
        )
        .unwrap();
        let finding = |kind: &str, text: &str| {
            serde_json::json!({
                "path": "a.proto", "start_line": 1, "start_column": 1, "type": kind, "message": text,
            })
            .to_string()
        };
        let deleted = "FIELD_NO_DELETE_UNLESS_NAME_RESERVED";
        let output = [
            finding(
                deleted,
                r#"Previously present field "2" with name "props" on message "M" was deleted without reserving the name "props"."#,
            ),
            finding(
                deleted,
                r#"Previously present field "7" with name "plugins" on message "M" was deleted without reserving the name "plugins"."#,
            ),
            finding(
                "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
                r#"Field "2" with name "value" on message "PluginsEntry" changed type from "google.protobuf.Struct" to "mattermost.plugin.v1.AnyMap"."#,
            ),
            // Not retired under this number: a field lost.
            finding(
                deleted,
                r#"Previously present field "5" with name "other" on message "M" was deleted without reserving the name "other"."#,
            ),
            finding(
                "FIELD_SAME_TYPE",
                r#"Field "2" with name "value" on message "LabelsEntry" changed type from "string" to "int64"."#,
            ),
        ]
        .join("\n");
        let (accepted, breaks) = sort_findings(&output, &lock);
        assert_eq!(
            accepted,
            Accepted {
                renames: 0,
                restored: 0,
                retypes: 3
            }
        );
        assert_eq!(breaks.len(), 2, "{breaks:?}");
        assert!(breaks[0].contains("\"other\""), "{breaks:?}");
        assert!(breaks[1].contains("LabelsEntry"), "{breaks:?}");
    }
}
