//! Bounded property runs of the front-end on mutated Go source (the checks are in
//! `fuzz_checks/`, shared with the cargo-fuzz target): byte deletions, insertions and
//! replacements and token swaps, on the fixture and on real Mattermost files. Every run either
//! parses or fails with located `file:line:col` diagnostics; nothing panics.
//!
//! `PROPTEST_CASES=<n>` sets the number of cases of the cheap properties for a longer run; the
//! whole-module property runs 1/64 of that.

mod common;
mod fuzz_checks;

use fuzz_checks::{Case, GO_FRAGMENTS, Mutation};
use proptest::prelude::*;

/// Cases for a property: `PROPTEST_CASES` when set, else `default` (sized to keep this file
/// around 10 s in a debug build on 2 cores).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `shrink` bounds the shrinking steps after a failure (each one is a parse).
fn config(cases: u32, shrink: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: shrink,
        ..ProptestConfig::default()
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let bytes = |max| prop::collection::vec(any::<u8>(), 1..max);
    prop_oneof![
        (any::<usize>(), 0..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), prop::sample::select(GO_FRAGMENTS)).prop_map(|(at, fragment)| {
            Mutation::Insert {
                at,
                bytes: fragment.as_bytes().to_vec(),
            }
        }),
        (any::<usize>(), bytes(8)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), bytes(8)).prop_map(|(at, bytes)| Mutation::Replace { at, bytes }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapTokens { a, b }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (any::<usize>(), prop::collection::vec(mutation(), 1..6))
        .prop_map(|(file, mutations)| Case { file, mutations })
}

proptest! {
    #![proptest_config(config(cases(256), 4096))]

    #[test]
    fn mutated_fixture_parses_or_fails_located(case in case()) {
        fuzz_checks::check(&case.apply(fuzz_checks::fixture()), common::FIXTURE_SPECIAL);
    }

    /// The decoding the cargo-fuzz target uses, from arbitrary bytes.
    #[test]
    fn fuzzer_decoded_cases_parse_or_fail_located(data in prop::collection::vec(any::<u8>(), 0..96)) {
        let case = Case::decode(&data);
        fuzz_checks::check(&case.apply(fuzz_checks::fixture()), common::FIXTURE_SPECIAL);
    }
}

proptest! {
    #![proptest_config(config((cases(256) / 8).max(1), 1024))]

    #[test]
    fn mutated_real_files_parse_or_fail_located(case in case()) {
        fuzz_checks::check(
            &case.apply(fuzz_checks::real_files()),
            codegen::special::MATTERMOST,
        );
    }
}

proptest! {
    #![proptest_config(config((cases(256) / 64).max(1), 64))]

    /// One real file mutated inside the whole module, so harmless edits reach a full IR.
    #[test]
    fn mutated_file_in_the_pinned_module_parses_or_fails_located(
        which in 0..fuzz_checks::REAL_FILES.len(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let module = fuzz_checks::pinned_module();
        let file = module
            .files
            .iter()
            .position(|f| f.path == fuzz_checks::REAL_FILES[which])
            .unwrap();
        let case = Case { file, mutations };
        fuzz_checks::check(&case.apply(module), codegen::special::MATTERMOST);
    }
}

/// The unmutated inputs are the baseline: the fixture and the module parse.
#[test]
fn unmutated_inputs_parse() {
    let untouched = Case {
        file: 0,
        mutations: Vec::new(),
    };
    assert!(
        codegen::parse::parse_with(
            &untouched.apply(fuzz_checks::fixture()),
            common::info("fixture"),
            common::FIXTURE_SPECIAL
        )
        .is_ok()
    );
}

/// Edits that must each be reported at a location (kept as fixed regression inputs).
#[test]
fn known_mutations_stay_located() {
    let set = fuzz_checks::fixture();
    for file in 0..set.files.len() {
        for mutation in [
            Mutation::Replace {
                at: 0,
                bytes: vec![0xff, 0xfe],
            },
            Mutation::Insert {
                at: usize::MAX,
                bytes: b"type".to_vec(),
            },
            Mutation::Delete { at: 0, len: 64 },
            Mutation::SwapTokens { a: 0, b: 1 },
        ] {
            let case = Case {
                file,
                mutations: vec![mutation],
            };
            fuzz_checks::check(&case.apply(set), common::FIXTURE_SPECIAL);
        }
    }
}
