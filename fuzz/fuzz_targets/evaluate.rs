//! Random predicate text from the grammar, with extreme numbers, far dates and odd windows,
//! evaluated on a small audience of edge values: parsing and evaluation never panic, and
//! every query path agrees with the reference evaluator. The first byte picks the `now` (an
//! ordinary one, the first or last storable instant, a daylight-saving day) and whether the
//! predicate is also defined, saved in an image and loaded back; the rest drives the grammar
//! (`support/checks.rs`).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use segcore::Audience;

#[path = "../support/checks.rs"]
mod checks;
#[path = "../support/framing.rs"]
mod framing;
#[path = "../../segcore/tests/common/grammar.rs"]
mod grammar;

fuzz_target!(|input: &[u8]| {
    static AUDIENCE: OnceLock<Audience> = OnceLock::new();
    checks::evaluate(AUDIENCE.get_or_init(grammar::audience), input);
});
