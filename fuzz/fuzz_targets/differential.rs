//! Differential: a random audience (edge values, edge instants, erasures) and a random
//! predicate from the grammar; the matcher, counts, plans and one-profile answers must all
//! equal the reference evaluator. The first byte picks the `now` and how many of the
//! following bytes build the audience; the rest drives the predicate.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../segcore/tests/common/grammar.rs"]
mod grammar;

fuzz_target!(|bytes: &[u8]| {
    let (first, rest) = bytes.split_first().unwrap_or((&0, &[]));
    let nows = grammar::nows();
    let now = nows[usize::from(first & 3)];
    let split = (usize::from(first >> 2) * 4).min(rest.len());
    let (audience_bytes, predicate_bytes) = rest.split_at(split);
    let audience = grammar::random_audience(audience_bytes);
    grammar::evaluate_at(
        &audience,
        &grammar::predicate_text(predicate_bytes),
        now,
        false,
    );
});
