//! The go-plugin handshake line parser (see runtime/tests/fuzz_checks/handshake.rs).
#![no_main]

#[path = "../../runtime/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use fuzz_checks::{Bytes, handshake};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte even: a line assembled from plausible fields; odd: the raw bytes as text.
    let line = match data.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => String::from_utf8_lossy(rest).into_owned(),
        _ => handshake::line_from(&mut Bytes::new(data.get(1..).unwrap_or_default())),
    };
    handshake::check(&line);
    handshake::check_tcp_is_loopback(&line);
    // TODO: add `check_accepted_lines_are_candidates` once the parser and the candidate test
    // agree on a '+' before a version (its property test is ignored until then).
});
