//! Journal replay: a durable directory whose journal is fuzzed, opened. The first byte picks
//! the framing: frames whose lengths and checksums are right (so records reach decoding and
//! replay), or raw bytes after a valid header. Opening gives an audience or a typed error,
//! never a panic; when it opens, the file is cut to what was replayed, and opening again finds
//! nothing more to cut and the same audience (`support/checks.rs`).
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
    checks::journal(DIR.get_or_init(|| checks::scratch("journal")), input);
});
