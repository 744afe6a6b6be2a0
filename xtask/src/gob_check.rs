//! The generated gob wire types (`generated/gob`) against Go's encoding/gob and Mattermost's own
//! types: Go (tests/gob) gob-encodes a populated value of every model struct and every method's
//! net/rpc arguments and results; Rust decodes each into its generated type and encodes it
//! again; Go decodes that and requires exactly the value it sent. Model types also go through the
//! contract on the way (gob struct → prost message → gob struct), so the generated conversions
//! are held to the same standard.

use std::path::Path;
use std::process::Command;

#[test]
fn every_generated_gob_type_round_trips_through_go() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let harness = root.join("tests/gob");
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let binary = scratch.path().join("gobcheck");
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(&harness)
        .status()
        .expect("the Go toolchain (go on PATH) and the Go module proxy are needed for this test");
    assert!(built.success(), "building tests/gob failed");

    // Each `Z_…Returns` with an error goes through twice: succeeding, and failing (`#error`).
    let cases_named: Vec<String> = mattermost_plugin_gob::TYPE_NAMES
        .iter()
        .map(|n| n.to_string())
        .chain(
            mattermost_plugin_gob::RETURNS_WITH_ERROR
                .iter()
                .map(|n| format!("{n}#error")),
        )
        .collect();
    let names = scratch.path().join("names");
    std::fs::write(&names, cases_named.join("\n")).expect("names file");
    let cases = scratch.path().join("cases");
    std::fs::create_dir(&cases).expect("cases directory");
    let run = |mode: &str| {
        let out = Command::new(&binary)
            .arg(mode)
            .arg(&names)
            .arg(&cases)
            .output()
            .expect("running gobcheck");
        assert!(
            out.status.success(),
            "gobcheck {mode}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run("encode");
    let mut problems = Vec::new();
    let mut through_contract = 0;
    for name in &cases_named {
        let bytes = std::fs::read(cases.join(format!("{name}.gob"))).expect("Go's encoding");
        let base = name.trim_end_matches("#error");
        let back = match mattermost_plugin_gob::reencode_via_contract(base, &bytes) {
            Some(back) => {
                through_contract += 1;
                Some(back)
            }
            None => mattermost_plugin_gob::reencode(base, &bytes),
        };
        match back {
            Some(Ok(back)) => {
                std::fs::write(cases.join(format!("{name}.back.gob")), back).expect("write back")
            }
            Some(Err(e)) => problems.push(format!("{name}: {e}")),
            None => problems.push(format!("{name}: unknown to reencode")),
        }
    }
    assert!(
        problems.is_empty(),
        "Rust could not take Go's encoding:\n{}",
        problems.join("\n")
    );
    run("verify");
    assert!(mattermost_plugin_gob::TYPE_NAMES.len() > 600);
    assert!(
        through_contract > 700,
        "only {through_contract} cases went through the contract"
    );
}
