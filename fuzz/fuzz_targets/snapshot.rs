//! The snapshot loader: a durable directory whose snapshot is fuzzed (a version-3 image with
//! right checksums, its sections from the input, the generation section included), beside an
//! empty journal of generation 0, opened. An audience or a typed error, never a panic; what
//! opens compacts, and opens again to the same audience (`support/checks.rs`).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../support/checks.rs"]
mod checks;
#[path = "../support/framing.rs"]
mod framing;
#[path = "../../segcore/tests/common/grammar.rs"]
mod grammar;

fuzz_target!(|input: &[u8]| {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    checks::snapshot(DIR.get_or_init(|| checks::scratch("snapshot")), input);
});
