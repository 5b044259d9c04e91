//! Reverse matching against the reference: for random audiences and random catalogs (with
//! segments referring to each other), `segments_of` every profile equals the segments the
//! reference evaluator puts it in, at several `now`s.

mod common;

use common::{
    audience_strategy, build, valid_predicate, AGGREGATE_FILTERS, AGGREGATE_FUNCS, AGGREGATE_TESTS,
    AGGREGATE_WINDOWS, EVENT_COUNTS, EVENT_FILTERS, EVENT_WINDOWS,
};
use proptest::prelude::*;
use segcore::{Audience, Predicate};

/// `segments_of` every profile equals the segments the reference puts it in, at two `now`s.
fn segments_of_every_profile_is_the_references(a: &Audience) -> Result<(), TestCaseError> {
    for now in [common::now(), common::days_from_now(-20)] {
        let mut expected: Vec<Vec<String>> = vec![Vec::new(); a.len() + 64];
        for name in a.catalog().names() {
            for slot in a
                .member_slots_by_reference(&Predicate::segment(name), now)
                .unwrap()
            {
                expected[slot as usize].push(name.to_owned());
            }
        }
        for i in 0..40 {
            let id = common::id(i);
            let Some(slot) = a.slot(&id) else { continue };
            prop_assert_eq!(
                &a.segments_of(&id, now).unwrap(),
                &expected[slot as usize],
                "{}",
                id
            );
        }
    }
    Ok(())
}

/// Every `did` and aggregate leaf the grammar can make, as one segment each: leaves that
/// differ only in their test share one scan of the events, and this catalog puts every such
/// family side by side (different counts, windows, filters, functions and tests).
fn event_catalog() -> Vec<String> {
    let mut out = Vec::new();
    for e in ["purchase", "view"] {
        for c in EVENT_COUNTS {
            for w in EVENT_WINDOWS {
                for f in EVENT_FILTERS {
                    out.push(format!("did {e}{c}{w}{f}"));
                }
            }
        }
    }
    for f in AGGREGATE_FUNCS {
        for w in AGGREGATE_WINDOWS {
            for c in AGGREGATE_FILTERS {
                for t in AGGREGATE_TESTS {
                    out.push(format!("{f}(purchase.amount{w}{c}) {t}"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_event_leaf_family_agrees_with_the_reference((specs, mutations) in audience_strategy()) {
        let mut a = build(&specs, &mutations);
        for (i, text) in event_catalog().iter().enumerate() {
            let p = a.predicate(text).unwrap();
            a.define_segment(&format!("e{i:04}"), p).unwrap();
        }
        segments_of_every_profile_is_the_references(&a)?;
    }
}

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
        segments_of_every_profile_is_the_references(&a)?;
    }
}
