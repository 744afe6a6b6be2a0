//! The generator's front-end on mutated Go source (see codegen/tests/fuzz_checks/mod.rs).
#![no_main]

#[path = "../../codegen/tests/common/mod.rs"]
mod common;
#[path = "../../codegen/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use fuzz_checks::Case;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: 1 in 4 edits a real Mattermost file (the pinned module, fetched with
    // `go mod download` on first use), the rest the hand-written fixture.
    let (mode, rest) = data.split_first().map_or((0, data), |(m, r)| (*m, r));
    let case = Case::decode(rest);
    if mode % 4 == 3 {
        fuzz_checks::check(
            &case.apply(fuzz_checks::real_files()),
            codegen::special::MATTERMOST,
        );
    } else {
        fuzz_checks::check(&case.apply(fuzz_checks::fixture()), common::FIXTURE_SPECIAL);
    }
});
