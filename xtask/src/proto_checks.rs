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
            if out.status.success() || (breaks.is_empty() && accepted > 0) {
                println!("proto: no wire/JSON breaking change against {short}");
                if accepted > 0 {
                    println!(
                        "proto: {accepted} name change(s) against {short} are field renames recorded in {} (`renamed_from`)",
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

/// Splits `buf breaking --error-format json` output into the count of findings that are renames
/// the lock records (a field keeping its key and number under a better name changes its proto
/// and JSON names, which buf reports) and the rest, rendered `path:line:col: message`.
fn sort_findings(output: &str, lock: &FieldLock) -> (usize, Vec<String>) {
    let mut accepted = 0;
    let mut breaks = Vec::new();
    for line in output.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(finding) = serde_json::from_str::<serde_json::Value>(line) else {
            breaks.push(line.to_string());
            continue;
        };
        let text = |key: &str| finding[key].as_str().unwrap_or_default().to_string();
        let message = text("message");
        if is_recorded_rename(&text("type"), &message, lock) {
            accepted += 1;
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
        assert_eq!(accepted, 2);
        assert_eq!(breaks.len(), 2, "{breaks:?}");
        assert!(
            breaks[0].starts_with("a.proto:4:5: Field \"2\""),
            "{breaks:?}"
        );
        assert!(breaks[1].contains("changed type"), "{breaks:?}");
    }
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
