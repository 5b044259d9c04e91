//! Any bytes as an audience image: an audience or a typed error, never a panic; whatever loads
//! writes out and loads again to the same image. The first byte picks the framing, so the
//! fuzzer spends its time past the checksums: a version-3 image whose sections are the rest
//! (split at `0xFE 0xFD`, tags taken in turn from the known ones, every checksum made right),
//! a version-2 or version-1 body, or the raw bytes (`support/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../support/checks.rs"]
mod checks;
#[path = "../support/framing.rs"]
mod framing;
#[path = "../../segcore/tests/common/grammar.rs"]
mod grammar;

fuzz_target!(|input: &[u8]| checks::from_bytes(input));
