//! Random predicate text from the grammar, with extreme numbers, far dates and odd windows,
//! evaluated on a small audience of edge values: parsing and evaluation never panic, and
//! every query path agrees with the reference evaluator. The first byte picks the `now` (an
//! ordinary one, the first or last storable instant, a daylight-saving day) and whether the
//! predicate is also defined, saved in an image and loaded back; the rest drives the grammar.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use segcore::Audience;

#[path = "../../segcore/tests/common/grammar.rs"]
mod grammar;

fuzz_target!(|bytes: &[u8]| {
    static AUDIENCE: OnceLock<Audience> = OnceLock::new();
    let audience = AUDIENCE.get_or_init(grammar::audience);
    let (first, rest) = bytes.split_first().unwrap_or((&0, &[]));
    let nows = grammar::nows();
    let now = nows[usize::from(first & 3)];
    let image = first & 0x3c == 0;
    grammar::evaluate_at(audience, &grammar::predicate_text(rest), now, image);
});
