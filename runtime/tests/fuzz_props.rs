//! Bounded property runs of the checks in `fuzz_checks/` (shared with the cargo-fuzz targets):
//! the handshake line parser, `plugin.json` loading, and the ServeHTTP bridge's handling of
//! arbitrary response frames. Inputs are fuzzer-style byte strings decoded by the same code the
//! fuzz targets use, plus direct strategies where they reach more.
//!
//! `PROPTEST_CASES=<n>` sets the number of cases per property for a longer run.

mod fuzz_checks;

use fuzz_checks::manifest::{Edit, Sandbox};
use fuzz_checks::serve_http::{Case, Head, Step};
use fuzz_checks::{Bytes, handshake, manifest, serve_http};
use proptest::prelude::*;

/// Cases per property: `PROPTEST_CASES` when set, else `default` (sized to keep this file well
/// under 20 s in a debug build on 2 cores).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

thread_local! {
    static SANDBOX: Sandbox = Sandbox::new();
}

fn edit() -> impl Strategy<Value = Edit> {
    let values = manifest::interesting_values();
    prop_oneof![
        (any::<usize>(), prop::sample::select(values)).prop_map(|(f, v)| Edit::Set(f, v)),
        (any::<usize>(), ".{0,24}").prop_map(|(f, s)| Edit::SetText(f, s)),
        any::<usize>().prop_map(Edit::Remove),
    ]
}

proptest! {
    #![proptest_config(config(cases(8192)))]

    #[test]
    fn handshake_lines_from_fields(data in bytes(64)) {
        let line = handshake::line_from(&mut Bytes::new(&data));
        handshake::check(&line);
    }

    #[test]
    fn handshake_arbitrary_text(line in "\\PC{0,40}") {
        handshake::check(&line);
    }

    #[test]
    fn handshake_accepted_lines_are_candidates(data in bytes(64)) {
        handshake::check_accepted_lines_are_candidates(&handshake::line_from(&mut Bytes::new(&data)));
    }

    #[test]
    fn handshake_accepted_tcp_is_loopback(data in bytes(64)) {
        handshake::check_tcp_is_loopback(&handshake::line_from(&mut Bytes::new(&data)));
    }
}

proptest! {
    #![proptest_config(config(cases(2048)))]

    #[test]
    fn manifest_arbitrary_bytes(data in bytes(256)) {
        SANDBOX.with(|sandbox| manifest::check_bytes(sandbox, &data));
    }

    #[test]
    fn manifest_edited_valid(edits in prop::collection::vec(edit(), 1..6)) {
        let text = manifest::apply(manifest::valid(), &edits).to_string();
        SANDBOX.with(|sandbox| manifest::check_bytes(sandbox, text.as_bytes()));
    }

    #[test]
    fn manifest_edited_and_byte_mutated(data in bytes(64)) {
        let text = manifest::bytes_from(&mut Bytes::new(&data));
        SANDBOX.with(|sandbox| manifest::check_bytes(sandbox, &text));
    }

    #[test]
    fn serve_http_arbitrary_frames(data in bytes(256)) {
        serve_http::check(&serve_http::Case::decode(&mut Bytes::new(&data)));
    }
}

#[test]
fn the_valid_manifest_is_accepted() {
    SANDBOX.with(|sandbox| {
        std::fs::write(sandbox.manifest_path(), manifest::valid().to_string()).unwrap();
        mattermost_plugin_runtime::manifest::Manifest::load(&sandbox.dir)
            .unwrap_or_else(|e| panic!("{e}"));
    });
}

/// Found by the property above: Rust's integer parser took "+1" as a version, so a line the
/// supervisor skips as noise was also a valid handshake.
#[test]
fn plus_sign_version_is_a_candidate() {
    handshake::check_accepted_lines_are_candidates("+1|1|unix|/s|grpc");
}

#[test]
fn non_loopback_tcp_is_refused() {
    for line in [
        "1|1|tcp|0.0.0.0:80|grpc",
        "1|1|tcp|10.0.0.1:5|grpc",
        "1|1|tcp|[::]:80|grpc",
    ] {
        handshake::check_tcp_is_loopback(line);
    }
}

fn frame(
    status: Option<i32>,
    headers: &[(&str, &str)],
    chunk: &[u8],
    flush: bool,
    complete: bool,
) -> Step {
    Step::Frame {
        head: status.map(|status| Head {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), vec![v.to_string()]))
                .collect(),
        }),
        chunk: chunk.to_vec(),
        flush,
        complete,
    }
}

fn case(steps: Vec<Step>) -> Case {
    Case {
        call_fails: false,
        steps,
    }
}

/// Inputs the bounded run found that left the client without a final response (an empty
/// reply, or a bare 101), by cause; the bridge handles them since.
fn bridge_regressions() -> Vec<(&'static str, Case)> {
    vec![
        (
            "stream fails after a flush",
            case(vec![
                frame(Some(200), &[], b"u", true, false),
                Step::Fail("boom".into()),
            ]),
        ),
        (
            "stream ends after a flush without completing the body",
            case(vec![frame(Some(200), &[], b"u", true, false)]),
        ),
        (
            "empty Content-Length",
            case(vec![frame(
                Some(200),
                &[("Content-Length", "")],
                b"abc",
                false,
                true,
            )]),
        ),
        (
            "Content-Length larger than the body",
            case(vec![frame(
                Some(200),
                &[("Content-Length", "5")],
                b"abc",
                false,
                true,
            )]),
        ),
        (
            "status 101",
            case(vec![frame(Some(101), &[], b"", false, true)]),
        ),
    ]
}

/// Failures before the head is committed are the bridge's own 502, not a truncated 200.
#[test]
fn failures_before_the_head_is_committed_are_a_502() {
    for steps in [
        vec![
            frame(Some(200), &[], b"u", false, false),
            Step::Fail("boom".into()),
        ],
        vec![frame(Some(200), &[], b"", false, false)],
    ] {
        serve_http::check(&case(steps));
    }
}

#[test]
fn bridge_regressions_get_a_final_response() {
    for (name, case) in bridge_regressions() {
        if std::panic::catch_unwind(|| serve_http::check(&case)).is_err() {
            panic!("regression: {name}");
        }
    }
}

/// Found by `serve_http_arbitrary_frames`: a Content-Length kept from the plugin that could not
/// be true left the client with an empty reply. Now an unusable one is dropped, a longer body is
/// cut at the declared length, and a shorter one is cut short after the head went out.
#[test]
fn mismatched_content_length_gets_a_final_response() {
    let mut failed = Vec::new();
    for (name, declared, chunk) in [
        ("plus sign", &[("Content-Length", "+5")][..], &b"abcde"[..]),
        ("longer than the body", &[("Content-Length", "5")], b"abc"),
        ("shorter than the body", &[("Content-Length", "2")], b"abc"),
        (
            "two entries",
            &[("Content-Length", "3"), ("Content-Length", "0")],
            b"abc",
        ),
    ] {
        let case = case(vec![
            frame(Some(200), declared, b"", true, false),
            frame(None, &[], chunk, false, true),
        ]);
        if std::panic::catch_unwind(|| serve_http::check(&case)).is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "no final response for: {failed:?}");
}
