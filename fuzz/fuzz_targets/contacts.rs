//! `contacts`: see `support/checks.rs`. Every row or message is loaded or rejected, and a load
//! asked to fail whole loads all or nothing, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../support/checks.rs"]
mod checks;
#[path = "../support/framing.rs"]
mod framing;
#[path = "../../segcore/tests/common/grammar.rs"]
mod grammar;

fuzz_target!(|input: &[u8]| checks::contacts(input));
