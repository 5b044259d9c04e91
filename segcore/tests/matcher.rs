//! The bitmap matcher returns exactly the reference evaluator's answers: on random audiences
//! with mutation histories (retyped values, untags, unsets, consent changes, erasures and
//! re-creations), for random valid predicates of every kind.

mod common;

use common::{
    aggregate_leaf, audience_strategy, build, event_leaf, now, occurrence_leaf, valid_predicate,
};
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Event conditions alone, so every window edge and day bucket gets exercised often.
    #[test]
    fn event_conditions_match_reference(
        (specs, mutations) in audience_strategy(),
        text in prop_oneof![event_leaf(), aggregate_leaf(), occurrence_leaf()],
    ) {
        let audience = build(&specs, &mutations);
        let p = segcore::Predicate::parse(&text).unwrap();
        prop_assert_eq!(
            audience.member_slots(&p, now()).unwrap(),
            audience.member_slots_by_reference(&p, now()).unwrap(),
            "{}", text
        );
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
    use segcore::Method::{Buckets, Index, Skipped};
    assert!(
        methods == [Index, Index, Buckets] || methods == [Index, Index, Skipped],
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

/// Events on the days a window covers only in part: before its start, after `now`, and across
/// a local midnight in the audience's zone.
#[test]
fn day_buckets_check_their_edge_days() {
    use segcore::{Audience, Event};
    let t = |s: &str| -> jiff::Timestamp { s.parse().unwrap() };
    let now = t("2024-03-31T12:00:00Z");
    let mut a = Audience::with_time_zone("Europe/Stockholm").unwrap();
    let events = [
        ("start_day_before", "2024-03-24T11:59:59Z"),
        ("start_day_after", "2024-03-24T12:00:00Z"),
        ("middle", "2024-03-27T08:00:00Z"),
        ("today_before_now", "2024-03-31T11:00:00Z"),
        ("today_after_now", "2024-03-31T12:00:01Z"),
        ("month_before_local_midnight", "2024-02-29T22:59:59Z"),
        ("month_after_local_midnight", "2024-02-29T23:00:00Z"),
    ];
    for (id, at) in events {
        a.track(id, Event::new("visit", t(at))).unwrap();
    }
    let check = |text: &str, expect: &[&str]| {
        let p = a.predicate(text).unwrap();
        let mut got = a.members(&p, now).unwrap();
        got.sort();
        let mut want: Vec<String> = expect.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{text}");
        assert_eq!(
            a.member_slots(&p, now).unwrap(),
            a.member_slots_by_reference(&p, now).unwrap()
        );
    };
    check(
        "did visit in last 7d",
        &["start_day_after", "middle", "today_before_now"],
    );
    check(
        "did visit in this month",
        &[
            "start_day_before",
            "start_day_after",
            "middle",
            "today_before_now",
            "month_after_local_midnight",
        ],
    );
    check("did visit in last calendar day", &[]);
    check(
        "did visit since 7d ago",
        &["start_day_after", "middle", "today_before_now"],
    );
}
