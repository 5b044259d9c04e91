//! Differential: a random audience (edge values, edge instants, erasures) and a random
//! predicate from the grammar; the matcher, counts, plans and one-profile answers must all
//! equal the reference evaluator. The first byte picks the `now` and how many of the
//! following bytes build the audience; the rest drives the predicate (`support/checks.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../support/checks.rs"]
mod checks;
#[path = "../support/framing.rs"]
mod framing;
#[path = "../../segcore/tests/common/grammar.rs"]
mod grammar;

fuzz_target!(|input: &[u8]| checks::differential(input));
