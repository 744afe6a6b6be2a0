//! The ServeHTTP bridge on arbitrary response frames (see runtime/tests/fuzz_checks/serve_http.rs).
#![no_main]

#[path = "../../runtime/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

use fuzz_checks::{Bytes, serve_http};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    serve_http::check(&serve_http::Case::decode(&mut Bytes::new(data)));
});
