//! A size tier past 65,536 profiles: the other property tests build at most a dozen, so no
//! bitmap there ever holds a slot in a second roaring container (slots 65,536 and up), nor a
//! dense word run across that edge. Here random profile shapes are laid over 70,000 slots —
//! each shape repeated, so every one sits on both sides of the edge — random writes land
//! anywhere in them, and random predicates are run by the matcher and by the reference
//! evaluator, which must agree, as must `count`.

mod common;

use common::{build, mutation, profile_spec, valid_predicate};
use proptest::prelude::*;

/// More than one roaring container's worth of slots (65,536), and then some.
const PROFILES: usize = 70_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("SEGCORE_LARGE_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(4)
    ))]

    #[test]
    fn past_one_bitmap_container_the_matcher_equals_the_reference(
        shapes in prop::collection::vec(profile_spec(), 1..8),
        mutations in prop::collection::vec(mutation(PROFILES), 0..40),
        predicates in prop::collection::vec(valid_predicate(), 6),
    ) {
        let specs: Vec<_> = (0..PROFILES).map(|i| shapes[i % shapes.len()].clone()).collect();
        let a = build(&specs, &mutations);
        let now = common::now();
        for p in &predicates {
            let fast = a.member_slots(p, now).unwrap();
            let reference = a.member_slots_by_reference(p, now).unwrap();
            prop_assert_eq!(&fast, &reference, "{}", p);
            prop_assert_eq!(a.count(p, now).unwrap(), reference.len() as u64, "{}", p);
        }
        // The tier is what it says: members on both sides of the container edge are possible.
        prop_assert!(a.len() > 65_536);
    }
}
