//! `plugin.json` loading (see runtime/tests/fuzz_checks/manifest.rs).
#![no_main]

#[path = "../../runtime/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use std::sync::OnceLock;

use fuzz_checks::Bytes;
use fuzz_checks::manifest::{self, Sandbox};
use libfuzzer_sys::fuzz_target;

static SANDBOX: OnceLock<Sandbox> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let sandbox = SANDBOX.get_or_init(Sandbox::new);
    // First byte even: raw bytes as plugin.json; odd: a valid manifest edited as the rest says.
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => {
            manifest::check_bytes(sandbox, &manifest::bytes_from(&mut Bytes::new(rest)))
        }
        _ => manifest::check_bytes(sandbox, data.get(1..).unwrap_or_default()),
    }
});
