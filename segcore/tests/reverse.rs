//! Reverse matching against the reference: for random audiences and random catalogs (with
//! segments referring to each other), `segments_of` every profile equals the segments the
//! reference evaluator puts it in, at several `now`s.

mod common;

use common::{audience_strategy, build, valid_predicate};
use proptest::prelude::*;
use segcore::Predicate;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128)
    ))]

    #[test]
    fn segments_of_equals_the_reference_for_every_profile(
        (specs, mutations) in audience_strategy(),
        predicates in prop::collection::vec(valid_predicate(), 1..10),
        refer in prop::collection::vec((0usize..10, any::<bool>()), 10),
    ) {
        let mut a = build(&specs, &mutations);
        for (i, p) in predicates.iter().enumerate() {
            // Some segments refer to an earlier one, as `and` or `or`.
            let (target, conjunctive) = refer[i];
            let p = match (i, target % (i.max(1))) {
                (0, _) => p.clone(),
                (_, t) if conjunctive => Predicate::And(vec![Predicate::segment(format!("g{t}")), p.clone()]),
                (_, t) => Predicate::Or(vec![p.clone(), Predicate::segment(format!("g{t}"))]),
            };
            a.define_segment(&format!("g{i}"), p).unwrap();
        }
        for now in [common::now(), common::days_from_now(-20)] {
            let mut expected: Vec<Vec<String>> = vec![Vec::new(); 64];
            for name in a.catalog().names() {
                for slot in a.member_slots_by_reference(&Predicate::segment(name), now).unwrap() {
                    expected[slot as usize].push(name.to_owned());
                }
            }
            for i in 0..40 {
                let id = common::id(i);
                let Some(slot) = a.slot(&id) else { continue };
                prop_assert_eq!(&a.segments_of(&id, now).unwrap(), &expected[slot as usize], "{}", id);
            }
        }
    }
}
