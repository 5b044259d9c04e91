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
        per_profile_queries_agree(audience, &p, &reference)?;
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
        let reference = audience.member_slots_by_reference(&p, now()).unwrap();
        prop_assert_eq!(audience.member_slots(&p, now()).unwrap(), reference.clone(), "{}", text);
        per_profile_queries_agree(audience, &p, &reference)?;
    }
}

/// `matches` and `segments_of` (the matcher run on one profile) agree with the reference's
/// members for every live profile.
fn per_profile_queries_agree(
    mut audience: segcore::Audience,
    p: &segcore::Predicate,
    reference: &[u32],
) -> Result<(), TestCaseError> {
    audience.define_segment("probe", p.clone()).unwrap();
    for i in 0..64 {
        let id = common::id(i);
        let Some(slot) = audience.slot(&id) else {
            continue;
        };
        let expected = reference.contains(&slot);
        prop_assert_eq!(
            audience.matches(&id, p, now()).unwrap(),
            expected,
            "{} for {}",
            p,
            id
        );
        let segments = audience.segments_of(&id, now()).unwrap();
        prop_assert_eq!(
            segments.iter().any(|s| s == "probe"),
            expected,
            "{} for {}",
            p,
            id
        );
    }
    Ok(())
}

/// Every step of a plan, depth first.
fn steps(step: &segcore::PlanStep) -> Vec<&segcore::PlanStep> {
    std::iter::once(step)
        .chain(step.children.iter().flat_map(steps))
        .collect()
}

/// No segment of the sample shop is answered candidate by candidate: every construct a
/// marketer writes there has its own index, tally or grid (and the answers are the
/// reference's).
#[test]
fn no_sample_segment_scans() {
    use segcore::sample::{SampleShop, SEGMENTS};
    let shop = SampleShop::new(3_000);
    let mut audience = shop.build();
    for (_, name, text) in SEGMENTS {
        let p = audience.predicate(text).unwrap();
        audience.define_segment(name, p).unwrap();
    }
    for (_, name, text) in SEGMENTS {
        let p = segcore::Predicate::segment(*name);
        let plan = audience.explain(&p, shop.now).unwrap();
        let scans: Vec<&str> = steps(&plan.root)
            .into_iter()
            .filter(|s| s.method == segcore::Method::Scan)
            .map(|s| s.label.as_str())
            .collect();
        assert!(scans.is_empty(), "{name} ({text}) scans {scans:?}:\n{plan}");
        assert_eq!(
            audience.member_slots(&p, shop.now).unwrap(),
            audience.member_slots_by_reference(&p, shop.now).unwrap(),
            "{name}"
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

/// Sums are taken in time order (equal times in arrival order), whatever order events arrive
/// in: with values whose rounding depends on the order, the tally must add them exactly as the
/// reference does. In time order 1e16 - 1e16 + 1 is 1; in any other order it rounds to 0.
#[test]
fn tallied_sums_add_in_time_order() {
    use segcore::{Audience, Event};
    let t = |s: &str| -> jiff::Timestamp { s.parse().unwrap() };
    let now = t("2024-03-10T12:00:00Z");
    let mut a = Audience::new();
    let events = [
        // Arrival order: last, first, middle.
        ("ada", "2024-03-10T09:00:00Z", 1.0),
        ("ada", "2024-03-10T07:00:00Z", 1e16),
        ("ada", "2024-03-10T08:00:00Z", -1e16),
        // One instant: arrival order is the order.
        ("cy", "2024-03-10T08:00:00Z", 1e16),
        ("cy", "2024-03-10T08:00:00Z", -1e16),
        ("cy", "2024-03-10T08:00:00Z", 1.0),
        // The same, for control, on the day before: outside `last 1d`.
        ("bob", "2024-03-09T08:00:00Z", 1.0),
        // Across days: the window's partly covered first day, then a whole day.
        ("dan", "2024-03-08T13:00:00Z", 1e16),
        ("dan", "2024-03-08T14:00:00Z", -1e16),
        ("dan", "2024-03-09T08:00:00Z", 1.0),
    ];
    for (id, at, amount) in events {
        a.track(id, Event::new("purchase", t(at)).value("amount", amount))
            .unwrap();
    }
    let [ada, cy, bob, dan] = ["ada", "cy", "bob", "dan"].map(|id| a.slot(id).unwrap());
    for (text, expected) in [
        ("sum(purchase.amount in last 1d) == 1", vec![ada, cy]),
        ("sum(purchase.amount in last 1d) == 0", vec![bob, dan]),
        (
            "sum(purchase.amount in last 2d) == 1",
            vec![ada, cy, bob, dan],
        ),
        ("sum(purchase.amount) == 1", vec![ada, cy, bob, dan]),
        ("avg(purchase.amount in last 1d) > 0.3", vec![ada, cy]),
        ("max(purchase.amount) > 1", vec![ada, cy, dan]),
    ] {
        // Where the window holds all events the running totals answer (in `last 1d`, the profiles with
        // events before it would be too many to test one by one, so a tally does); a filter
        // sends the same question to a tally of the day rows. All must add in time order.
        let unfiltered = if text.contains(" in last 1d") {
            segcore::Method::Tally
        } else {
            segcore::Method::Totals
        };
        let filtered = text.replace(")", " where amount exists)");
        for (text, method) in [
            (text.to_owned(), unfiltered),
            (filtered, segcore::Method::Tally),
        ] {
            let p = a.predicate(&text).unwrap();
            let reference = a.member_slots_by_reference(&p, now).unwrap();
            assert_eq!(reference, expected, "{text}");
            assert_eq!(a.member_slots(&p, now).unwrap(), reference, "{text}");
            let plan = a.explain(&p, now).unwrap();
            assert_eq!(plan.root.method, method, "{text}: {plan}");
        }
    }
}

/// Timestamp attributes are narrowed to the UTC days a test touches; values on those edge
/// days, on both sides of the edge, must still be decided exactly.
#[test]
fn timestamp_tests_decide_their_edge_days_exactly() {
    use segcore::{Audience, Value};
    let now: jiff::Timestamp = "2024-03-31T12:00:00Z".parse().unwrap();
    let mut a = Audience::with_time_zone("Europe/Stockholm").unwrap();
    let mut i = 0;
    for days in [0, 30, 90, 120] {
        for hours in [-13, -11, -1, 0, 1, 11, 13] {
            let at = now
                .checked_sub(jiff::SignedDuration::from_hours(days * 24 - hours))
                .unwrap();
            a.upsert(&format!("p{i}"), [("signed_up_at", Value::Timestamp(at))])
                .unwrap();
            i += 1;
        }
    }
    a.upsert("none", [("age", Value::from(1))]).unwrap();
    for text in [
        "signed_up_at before 90d ago",
        "signed_up_at <= 90d ago",
        "signed_up_at after 30d ago",
        "signed_up_at >= 30d ago",
        "signed_up_at == 30d ago",
        "signed_up_at != 30d ago",
        "signed_up_at between 120d ago and 90d ago",
        "signed_up_at between 90d ago and 120d ago",
        "signed_up_at within last 30d",
        "signed_up_at within this month",
        "signed_up_at within last 2 calendar months",
        "signed_up_at before @2024-01-01",
    ] {
        let p = a.predicate(text).unwrap();
        let reference = a.member_slots_by_reference(&p, now).unwrap();
        assert_eq!(a.member_slots(&p, now).unwrap(), reference, "{text}");
    }
}

/// `within r of (lat, lon)` is narrowed to a box of coordinates before the distance test:
/// the box must hold every point of the circle — at the edge of the radius, near the poles,
/// across the date line, with coarse buckets (many distinct values) or value sets (few),
/// and not at all when coordinates are outside plain degree ranges.
#[test]
fn the_coordinate_box_holds_the_whole_circle() {
    use segcore::{Audience, Value};
    let now: jiff::Timestamp = "2024-03-31T12:00:00Z".parse().unwrap();
    let centres: [(f64, f64); 6] = [
        (59.33, 18.07),
        (0.0, 179.9),
        (0.0, -179.95),
        (89.5, 10.0),
        (-89.9, -120.0),
        (45.0, 0.0),
    ];
    let build = |extra: Option<(f64, f64)>, many: bool| {
        let mut a = Audience::new();
        let mut i = 0;
        let mut add = |lat: f64, lon: f64| {
            a.upsert(
                &format!("p{i}"),
                [
                    ("latitude", Value::Number(lat)),
                    ("longitude", Value::Number(lon)),
                ],
            )
            .unwrap();
            i += 1;
        };
        for &(lat, lon) in &centres {
            // Rings of points at and around 1, 10, 100 and 1000 km in eight directions.
            for km in [1.0, 10.0, 99.9999, 100.0, 100.0001, 1000.0] {
                let angle: f64 = km / 6371.0088;
                for k in 0..8 {
                    let bearing = f64::from(k) * std::f64::consts::FRAC_PI_4;
                    let (p1, l1) = (lat.to_radians(), lon.to_radians());
                    let p2 =
                        (p1.sin() * angle.cos() + p1.cos() * angle.sin() * bearing.cos()).asin();
                    let l2 = l1
                        + (bearing.sin() * angle.sin() * p1.cos())
                            .atan2(angle.cos() - p1.sin() * p2.sin());
                    let lon2 = (l2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
                    add(p2.to_degrees(), lon2);
                }
            }
        }
        if many {
            for j in 0..300 {
                add(-60.0 + f64::from(j) * 0.4, -170.0 + f64::from(j) * 1.1);
            }
        }
        if let Some((lat, lon)) = extra {
            add(lat, lon);
        }
        a
    };
    for (extra, many) in [(None, false), (None, true), (Some((419.33, 18.07)), true)] {
        let a = build(extra, many);
        for &(lat, lon) in &centres {
            for r in [
                "1km",
                "10km",
                "100km",
                "1000km",
                "62.1371mi",
                "0km",
                "20000km",
            ] {
                let text = format!("within {r} of ({lat}, {lon})");
                let p = a.predicate(&text).unwrap();
                assert_eq!(
                    a.member_slots(&p, now).unwrap(),
                    a.member_slots_by_reference(&p, now).unwrap(),
                    "{text} (many: {many}, extra: {extra:?})"
                );
            }
        }
    }
}

/// A segment named again in one query (or in `segments_of`, by segments sharing it) reuses its
/// members from the first evaluation, cut to the new input.
#[test]
fn segments_named_again_reuse_their_members() {
    use segcore::{Audience, Method, Value};
    let now: jiff::Timestamp = "2024-03-31T12:00:00Z".parse().unwrap();
    let mut a = Audience::new();
    for i in 0..40 {
        a.upsert(
            &format!("p{i}"),
            [("age", Value::from(i)), ("score", Value::from(i % 7))],
        )
        .unwrap();
    }
    for (name, text) in [
        ("older", "age > 20"),
        ("high", "score >= 4"),
        ("older_high", "segment older and segment high"),
        ("older_or_high", "segment older or segment high"),
        ("neither", "not segment older and not segment high"),
    ] {
        let p = a.predicate(text).unwrap();
        a.define_segment(name, p).unwrap();
    }
    for text in [
        "not segment older and segment older",
        "not segment older or segment older",
        "segment older and not segment older",
        "(segment high or age < 5) and not segment high and segment older",
        "segment older_high or segment older_or_high or segment neither",
        "not segment older_high and segment older_or_high and segment older",
        // First on a small input, then on a larger one: nothing to reuse.
        "(age < 5 and segment high) or segment high",
    ] {
        let p = a.predicate(text).unwrap();
        let reference = a.member_slots_by_reference(&p, now).unwrap();
        assert_eq!(a.member_slots(&p, now).unwrap(), reference, "{text}");
        assert_eq!(a.count(&p, now).unwrap(), reference.len() as u64, "{text}");
    }
    let p = a.predicate("not segment older and segment older").unwrap();
    let plan = a.explain(&p, now).unwrap();
    fn methods(s: &segcore::PlanStep, out: &mut Vec<Method>) {
        out.push(s.method);
        s.children.iter().for_each(|c| methods(c, out));
    }
    let mut seen = Vec::new();
    methods(&plan.root, &mut seen);
    assert!(seen.contains(&Method::Reused), "{plan}");
    for i in 0..40 {
        let id = format!("p{i}");
        let expected: Vec<String> = a
            .catalog()
            .iter()
            .filter(|(_, p)| {
                a.member_slots_by_reference(p, now)
                    .unwrap()
                    .contains(&a.slot(&id).unwrap())
            })
            .map(|(n, _)| n.to_owned())
            .collect();
        assert_eq!(a.segments_of(&id, now).unwrap(), expected, "{id}");
    }
}

/// One profile at a time (`matches`, `segments_of`), windows are decided from that profile's
/// own events rather than from the edge days' rows: with edge days holding many rows, each
/// profile's answer must still be the reference's.
#[test]
fn one_profile_queries_on_busy_edge_days() {
    use segcore::{Audience, Event};
    let now: jiff::Timestamp = "2024-03-31T12:00:00Z".parse().unwrap();
    let mut a = Audience::new();
    for i in 0..120i64 {
        // Around the window's start (7 days ago, 12:00) and on today's partial day.
        for (days, minutes) in [(7, -30 + i % 60), (0, -(i % 90)), (3, 0)] {
            if i % 4 == 0 && days == 3 {
                continue;
            }
            let at = now
                .checked_sub(jiff::SignedDuration::from_mins(days * 24 * 60 + minutes))
                .unwrap();
            let name = if i % 3 == 0 {
                "purchase"
            } else {
                "add_to_cart"
            };
            a.track(&format!("p{i}"), Event::new(name, at)).unwrap();
        }
    }
    for text in [
        "did add_to_cart in last 7d",
        "did purchase in last 7d",
        "did add_to_cart in last 7d and not did purchase in last 7d",
        "did purchase in last 1d",
    ] {
        let p = a.predicate(text).unwrap();
        let reference = a.member_slots_by_reference(&p, now).unwrap();
        assert_eq!(a.member_slots(&p, now).unwrap(), reference, "{text}");
        for i in 0..120 {
            let id = format!("p{i}");
            let slot = a.slot(&id).unwrap();
            assert_eq!(
                a.matches(&id, &p, now).unwrap(),
                reference.contains(&slot),
                "{text} for {id}"
            );
        }
    }
}

/// The point at `km` from (`lat`, `lon`) in direction `bearing` (radians from north).
fn destination(lat: f64, lon: f64, km: f64, bearing: f64) -> (f64, f64) {
    let angle = km / 6371.0088;
    let (p1, l1) = (lat.to_radians(), lon.to_radians());
    let p2 = (p1.sin() * angle.cos() + p1.cos() * angle.sin() * bearing.cos()).asin();
    let l2 = l1 + (bearing.sin() * angle.sin() * p1.cos()).atan2(angle.cos() - p1.sin() * p2.sin());
    (
        p2.to_degrees(),
        (l2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0,
    )
}

/// A position near a circle: on its edge give or take a hair, anywhere inside or around it, or
/// on a grid line (whole hundredths of a degree) near it.
fn position_near(lat: f64, lon: f64, km: f64) -> impl Strategy<Value = (f64, f64)> {
    prop_oneof![
        (0.0..std::f64::consts::TAU, -1e-6..1e-6f64).prop_map(move |(b, d)| destination(
            lat,
            lon,
            km * (1.0 + d),
            b
        )),
        (0.0..std::f64::consts::TAU, 0.0..1.5f64).prop_map(move |(b, f)| destination(
            lat,
            lon,
            km * f,
            b
        )),
        (
            0.0..std::f64::consts::TAU,
            0.9..1.1f64,
            -2i32..=2,
            -2i32..=2
        )
            .prop_map(move |(b, f, di, dj)| {
                let (a, o) = destination(lat, lon, km * f, b);
                (
                    ((a * 100.0).round() + f64::from(di)) / 100.0,
                    ((o * 100.0).round() + f64::from(dj)) / 100.0,
                )
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `within r of (lat, lon)` from the position grid (cells inside, outside and across the
    /// circle, at both levels) equals the reference, with points crowding the edge of the circle
    /// and the grid lines, after some profiles move or lose their position.
    #[test]
    fn the_position_grid_matches_the_distance_test(
        (lat, lon, km, points) in (
            -80.0..80.0f64,
            -170.0..170.0f64,
            prop::sample::select(vec![0.0f64, 0.3, 2.0, 11.0, 50.0, 400.0]),
        )
            .prop_flat_map(|(lat, lon, km)| {
                let points = prop::collection::vec(position_near(lat, lon, km.max(1.0)), 1..120);
                (Just(lat), Just(lon), Just(km), points)
            }),
        moves in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3), 0..6),
    ) {
        use segcore::{Audience, Value};
        let mut a = Audience::new();
        for (i, &(la, lo)) in points.iter().enumerate() {
            a.upsert(
                &format!("p{i}"),
                [("latitude", Value::Number(la)), ("longitude", Value::Number(lo))],
            )
            .unwrap();
        }
        for (pick, how) in moves {
            let i = pick.index(points.len());
            let id = format!("p{i}");
            // An erased profile's later moves fail with unknown_name or re-create it; both fine.
            match how {
                0 => {
                    let _ = a.unset(&id, "longitude");
                }
                1 => {
                    let _ = a.upsert(&id, [("latitude", Value::Number(lat))]);
                }
                _ => {
                    a.erase(&id).unwrap();
                }
            }
        }
        let now: jiff::Timestamp = "2024-03-31T12:00:00Z".parse().unwrap();
        let text = format!("within {km}km of ({lat}, {lon})");
        let p = a.predicate(&text).unwrap();
        let reference = a.member_slots_by_reference(&p, now).unwrap();
        prop_assert_eq!(a.member_slots(&p, now).unwrap(), reference.clone(), "{}", text);
        prop_assert_eq!(a.count(&p, now).unwrap(), reference.len() as u64);
    }
}

/// Conditions the indexes answer exactly: the parts of an `and` that `count` may fold over
/// plain words.
fn index_leaf() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "age > 30",
        "age <= 40",
        "age between 20 and 45",
        "age between 45 and 20",
        "age != 18",
        r#"country in ["SE", "DK"]"#,
        r#"country not in ["SE"]"#,
        r#"country == "NO""#,
        "country exists",
        "age missing",
        r#"interests contains any ["yoga", "tech", "ski"]"#,
        r#"interests contains all ["yoga", "ski"]"#,
        r#"tag any ["vip", "interest:*", "churn"]"#,
        r#"tag all ["interest:*", "vip"]"#,
        r#"tag "interest:*""#,
        "newsletter == true",
        "consent email",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `count` of an `and` of index conditions (folded over plain words when that is cheaper)
    /// equals the reference's number of members.
    #[test]
    fn counted_and_chains_match_reference(
        (specs, mutations) in audience_strategy(),
        parts in prop::collection::vec(index_leaf(), 2..5),
    ) {
        let audience = build(&specs, &mutations);
        let text = parts.join(" and ");
        let p = segcore::Predicate::parse(&text).unwrap();
        let reference = audience.member_slots_by_reference(&p, now()).unwrap();
        prop_assert_eq!(audience.count(&p, now()).unwrap(), reference.len() as u64, "{}", text);
    }
}
