//! The bitmap matcher returns exactly the reference evaluator's answers: on random audiences
//! with mutation histories (retyped values, untags, unsets, consent changes, erasures and
//! re-creations), for random valid predicates of every kind.

mod common;

use common::{audience_strategy, build, now, valid_predicate};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matcher_equals_reference((specs, mutations) in audience_strategy(), p in valid_predicate()) {
        let audience = build(&specs, &mutations);
        let fast = audience.member_slots(&p, now()).unwrap();
        let reference = audience.member_slots_by_reference(&p, now()).unwrap();
        prop_assert_eq!(&fast, &reference, "{}", p);
        prop_assert_eq!(audience.count(&p, now()).unwrap(), reference.len() as u64);
        let plan = audience.explain(&p, now()).unwrap();
        prop_assert_eq!(plan.root.actual, reference.len() as u64);
    }
}

#[test]
fn explain_shows_index_steps_before_scans() {
    let audience = segcore::sample::SampleShop::new(2_000).build();
    let shop_now = segcore::sample::SampleShop::new(2_000).now;
    let p = audience
        .predicate(r#"did purchase in last 30d and tag "vip" and country == "SE""#)
        .unwrap();
    let plan = audience.explain(&p, shop_now).unwrap();
    let methods: Vec<segcore::Method> = plan.root.children.iter().map(|s| s.method).collect();
    use segcore::Method::{Index, Scan, Skipped};
    assert!(
        methods == [Index, Index, Scan] || methods == [Index, Index, Skipped],
        "{plan}"
    );
    assert!(
        plan.root.children[0].estimated <= plan.root.children[1].estimated,
        "{plan}"
    );
    assert_eq!(
        plan.root.actual,
        audience
            .member_slots_by_reference(&p, shop_now)
            .unwrap()
            .len() as u64
    );
    let text = plan.to_string();
    assert!(text.starts_with("and [and] in=2000"), "{text}");
}
