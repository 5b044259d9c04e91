//! Sizes, overlaps and KPIs equal what a plain loop over the reference evaluator's members
//! gives, on random audiences; the statistics are checked against independent values in
//! `insight::stats`'s unit tests and the Python suite.

mod common;

use common::{audience_strategy, build, now, seconds_from_now};
use proptest::prelude::*;
use segcore::insight::{benjamini_hochberg, Measure, Outcome, Proportion, Summary, TestPlan};
use segcore::{Audience, Event, Predicate};

const SEGMENTS: &[&str] = &[
    "adults",
    "engaged",
    "engaged_adults",
    r#"country == "SE""#,
    "did purchase",
    "not consent email",
];

/// A predicate every live profile matches.
const EVERYONE: &str = "not (consent email and not consent email)";

fn reference(a: &Audience, text: &str, at: jiff::Timestamp) -> Vec<u32> {
    a.member_slots_by_reference(&a.query(text).unwrap(), at)
        .unwrap()
}

/// Each live profile's sum of `purchase.amount` in [from, to), from its snapshot.
fn sums(a: &Audience, slots: &[u32], from: jiff::Timestamp, to: jiff::Timestamp) -> Vec<f64> {
    let ids = a
        .members(&Predicate::parse(EVERYONE).unwrap(), now())
        .unwrap();
    let mut by_slot = std::collections::HashMap::new();
    for id in ids {
        let p = a.profile(&id).unwrap();
        let sum: f64 = p
            .events
            .iter()
            .filter(|e| e.name == "purchase" && e.at >= from && e.at < to)
            .filter_map(|e| e.properties.iter().find(|(k, _)| k == "amount"))
            .filter_map(|(_, v)| match v {
                segcore::Value::Number(x) => Some(*x),
                _ => None,
            })
            .sum();
        by_slot.insert(p.slot, sum);
    }
    slots.iter().map(|s| by_slot[s]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn overlaps_and_kpis_equal_plain_loops(
        (specs, mutations) in audience_strategy(),
        window in 1i64..40,
    ) {
        let a = build(&specs, &mutations);
        let members: Vec<Vec<u32>> = SEGMENTS.iter().map(|s| reference(&a, s, now())).collect();

        let o = a.overlap(SEGMENTS, now()).unwrap();
        for i in 0..SEGMENTS.len() {
            prop_assert_eq!(o.sizes[i], members[i].len() as u64);
            for j in 0..SEGMENTS.len() {
                let both = members[i].iter().filter(|s| members[j].contains(s)).count() as u64;
                prop_assert_eq!(o.intersections[i][j], both);
            }
        }

        // A rate: bought within `window` days up to a later instant.
        let at = seconds_from_now(window * 3_600);
        let bought = Outcome::Converts {
            predicate: a.predicate(&format!("did purchase in last {window}d")).unwrap(),
            at,
        };
        let converted = reference(&a, &format!("did purchase in last {window}d"), at);
        let live = reference(&a, EVERYONE, now());
        let kpis = a.kpis(SEGMENTS, &bought, now(), 0.95).unwrap();
        let mut raw = Vec::new();
        for (i, row) in kpis.rows.iter().enumerate() {
            let successes = members[i].iter().filter(|s| converted.contains(s)).count() as u64;
            let expected = Proportion::new(successes, members[i].len() as u64).unwrap();
            prop_assert_eq!(row.measure, Measure::Rate(expected));
            let rest_members = live.len() as u64 - expected.trials;
            let rest_successes = live.iter().filter(|s| converted.contains(s)).count() as u64 - successes;
            prop_assert_eq!(row.rest, Measure::Rate(Proportion::new(rest_successes, rest_members).unwrap()));
            prop_assert_eq!(row.interval, expected.wilson(0.95).unwrap());
            if let Some(t) = row.vs_rest {
                raw.push(t.p_value);
            }
        }
        let adjusted: Vec<f64> = kpis.rows.iter().filter_map(|r| r.adjusted_p_value).collect();
        prop_assert_eq!(adjusted, benjamini_hochberg(&raw));

        // A value: purchase amounts in the last `window` days before now.
        let from = seconds_from_now(-window * 86_400);
        let spent = Outcome::Sum { event: "purchase".into(), property: "amount".into(), from, to: now() };
        let kpis = a.kpis(SEGMENTS, &spent, now(), 0.9).unwrap();
        let all = Summary::of(sums(&a, &live, from, now()));
        for (i, row) in kpis.rows.iter().enumerate() {
            let values = sums(&a, &members[i], from, now());
            let Measure::Value(s) = row.measure else { panic!("a value") };
            let expected = Summary::of(values.iter().copied());
            prop_assert_eq!(s.n, expected.n);
            prop_assert!((s.mean - expected.mean).abs() <= 1e-9 * expected.mean.abs().max(1.0));
            prop_assert!((s.m2 - expected.m2).abs() <= 1e-6 * expected.m2.abs().max(1.0));
            let Measure::Value(rest) = row.rest else { panic!("a value") };
            prop_assert_eq!(rest.n, all.n - expected.n);
        }
    }
}

#[test]
fn sizes_list_the_catalog_in_name_order() {
    let a = build(&[], &[]);
    let sizes = a.sizes(now()).unwrap();
    let names: Vec<&str> = sizes.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["adults", "engaged", "engaged_adults"]);
    assert!(sizes.iter().all(|s| s.members == 0 && s.share == 0.0));
}

#[test]
fn a_segment_against_another_and_against_the_rest() {
    let mut a = Audience::new();
    let t = |s: &str| -> jiff::Timestamp { s.parse().unwrap() };
    for i in 0..400 {
        let id = format!("p{i}");
        let group = ["a", "b"][i % 2];
        a.upsert(&id, [("group", group.into())]).unwrap();
        // a: 30% buy, b: 15%.
        let buys = if group == "a" { i % 20 < 6 } else { i % 40 < 6 };
        if buys {
            a.track(
                &id,
                Event::new("purchase", t("2024-06-03T00:00:00Z")).value("amount", 10.0),
            )
            .unwrap();
        }
    }
    let bought = Outcome::Converts {
        predicate: a.predicate("did purchase").unwrap(),
        at: t("2024-06-15T00:00:00Z"),
    };
    let now = t("2024-06-01T00:00:00Z");
    let ab = a
        .compare(r#"group == "a""#, Some(r#"group == "b""#), &bought, now)
        .unwrap()
        .unwrap();
    // 60/200 against 30/200: statsmodels' proportions_ztest gives z = 3.592106, p = 0.000328016.
    assert!((ab.difference - 0.15).abs() < 1e-12);
    assert_eq!(ab.relative_lift, Some(1.0));
    assert!((ab.statistic - 3.592106).abs() < 1e-6, "{ab:?}");
    assert!((ab.p_value - 0.000328016).abs() < 1e-9, "{ab:?}");
    // Against the rest, which is b here.
    let rest = a
        .compare(r#"group == "a""#, None, &bought, now)
        .unwrap()
        .unwrap();
    assert_eq!(rest, ab);
}

#[test]
fn insight_refuses_bad_questions_with_typed_errors() {
    let mut a = Audience::new();
    let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    a.track(
        "ada",
        Event::new("purchase", now)
            .value("amount", 1.0)
            .property("sku", "x"),
    )
    .unwrap();
    let sum = |event: &str, property: &str| Outcome::Sum {
        event: event.into(),
        property: property.into(),
        from: now,
        to: now,
    };
    let e = a
        .kpis(&["did purchase"], &sum("purchse", "amount"), now, 0.95)
        .unwrap_err();
    assert_eq!(e.kind(), "unknown_name");
    assert!(e.to_string().contains("purchase"), "{e}");
    let e = a
        .kpis(&["did purchase"], &sum("purchase", "sku"), now, 0.95)
        .unwrap_err();
    assert_eq!(e.kind(), "type");
    let e = a
        .kpis(&["did purchase"], &sum("purchase", "amount"), now, 1.5)
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_value");
    let backwards = Outcome::Sum {
        event: "purchase".into(),
        property: "amount".into(),
        from: now,
        to: "2024-01-01T00:00:00Z".parse().unwrap(),
    };
    assert_eq!(
        a.kpis(&[], &backwards, now, 0.95).unwrap_err().kind(),
        "invalid_value"
    );
    assert_eq!(
        a.overlap(&["segment nope"], now).unwrap_err().kind(),
        "unknown_name"
    );
    let plan = TestPlan::ab(0.1, 0.05);
    let e = a
        .testability("did purchase", &plan, "visit", 30, 60.0, now)
        .unwrap_err();
    assert_eq!(e.kind(), "unknown_name");
    let e = a
        .testability(
            "did purchase",
            &TestPlan { arms: 1, ..plan },
            "purchase",
            30,
            60.0,
            now,
        )
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_value");
    // A segment smaller than the test needs never reaches it.
    let t = a
        .testability("did purchase", &plan, "purchase", 30, 60.0, now)
        .unwrap();
    assert_eq!(
        (t.members, t.active, t.days_needed, t.reachable),
        (1, 1, None, false)
    );
}

#[test]
fn rfm_scores_put_every_customer_in_exactly_one_standard_segment() {
    let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    let mut a = Audience::new();
    let mut rng = fastrand::Rng::with_seed(5);
    for i in 0..500 {
        let id = format!("c{i}");
        a.upsert(&id, [("n", (i as f64).into())]).unwrap();
        if i % 7 == 0 {
            continue; // never bought
        }
        for _ in 0..rng.usize(1..12) {
            let at =
                jiff::Timestamp::from_second(now.as_second() - rng.i64(0..400 * 86_400)).unwrap();
            a.track(
                &id,
                Event::new("purchase", at).value("amount", rng.f64() * 100.0),
            )
            .unwrap();
        }
    }
    // A purchase after `now` does not count.
    a.track(
        "c7",
        Event::new("purchase", "2024-07-01T00:00:00Z".parse().unwrap()).value("amount", 1.0),
    )
    .unwrap();
    let summary = a.score_rfm("purchase", "amount", now).unwrap();
    assert_eq!(summary.customers, 500 - 72);
    assert_eq!(summary.cleared, 0);
    assert!(!a
        .profile("c7")
        .unwrap()
        .attributes
        .contains_key("rfm_recency"));
    a.define_rfm_segments().unwrap();
    let segments: Vec<Vec<String>> = segcore::insight::RFM_SEGMENTS
        .iter()
        .map(|(name, _)| a.members(&Predicate::segment(*name), now).unwrap())
        .collect();
    let mut seen = std::collections::HashMap::new();
    for members in &segments {
        for id in members {
            *seen.entry(id.clone()).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len() as u64, summary.customers);
    assert!(seen.values().all(|&n| n == 1));
    // Each score splits the customers into fifths (ties aside, sizes differ by at most one).
    for attribute in ["rfm_recency", "rfm_frequency", "rfm_monetary"] {
        let sizes: Vec<u64> = (1..=5)
            .map(|s| {
                a.count(&a.predicate(&format!("{attribute} == {s}")).unwrap(), now)
                    .unwrap()
            })
            .collect();
        assert_eq!(sizes.iter().sum::<u64>(), summary.customers, "{attribute}");
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{attribute}: {sizes:?}"
        );
    }
    // A customer whose purchases are erased loses their scores on the next run.
    a.erase("c1").unwrap();
    a.upsert("c1", [("n", 1.0.into())]).unwrap();
    let again = a.score_rfm("purchase", "amount", now).unwrap();
    assert_eq!(again.customers, summary.customers - 1);
    assert_eq!(
        again.cleared, 0,
        "a re-created profile starts without scores"
    );
    // Scored at an earlier instant, customers who had not bought yet lose their scores.
    let earlier = jiff::Timestamp::from_second(now.as_second() - 300 * 86_400).unwrap();
    let before = a.score_rfm("purchase", "amount", earlier).unwrap();
    assert!(
        before.customers < again.customers && before.cleared > 0,
        "{before:?}"
    );
    assert_eq!(before.customers + before.cleared, again.customers);
    let scored = a
        .count(&a.predicate("rfm_recency exists").unwrap(), now)
        .unwrap();
    assert_eq!(scored, before.customers);
    assert_eq!(
        a.score_rfm("purchase", "nope", now).unwrap_err().kind(),
        "unknown_name"
    );
}

/// Pairs counted the plain way: every basket's every pair in a map.
#[test]
fn co_occurrence_equals_a_plain_count_and_recommendations_never_repeat_an_item() {
    let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    let mut a = Audience::new();
    let mut rng = fastrand::Rng::with_seed(11);
    let mut baskets: Vec<std::collections::BTreeSet<String>> = Vec::new();
    for p in 0..400 {
        let mut basket = std::collections::BTreeSet::new();
        for _ in 0..rng.usize(0..9) {
            // Popular items are low numbers.
            let sku = format!("sku{:02}", rng.usize(..60).min(rng.usize(..60)));
            a.track(
                &format!("p{p}"),
                Event::new("purchase", now).property("sku", sku.as_str()),
            )
            .unwrap();
            basket.insert(sku);
        }
        if basket.is_empty() {
            a.upsert(&format!("p{p}"), Vec::<(&str, segcore::Value)>::new())
                .unwrap();
        } else {
            baskets.push(basket);
        }
    }
    let together = a.co_occurrence("purchase", "sku", 0.03).unwrap();
    assert_eq!(together.baskets(), baskets.len() as u64);
    let mut plain: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for b in &baskets {
        let items: Vec<&String> = b.iter().collect();
        for (i, x) in items.iter().enumerate() {
            for y in &items[i + 1..] {
                *plain.entry(((*x).clone(), (*y).clone())).or_insert(0) += 1;
            }
        }
    }
    let min_count = (0.03 * baskets.len() as f64).ceil() as u64;
    let expected: std::collections::BTreeMap<(String, String), u64> =
        plain.into_iter().filter(|(_, c)| *c >= min_count).collect();
    let got: std::collections::BTreeMap<(String, String), u64> = together
        .pairs()
        .into_iter()
        .map(|p| ((p.item, p.with), p.count))
        .collect();
    assert_eq!(got, expected);
    let support = |item: &str| {
        baskets.iter().filter(|b| b.contains(item)).count() as f64 / baskets.len() as f64
    };
    for pair in together.bought_with("sku00", 100).unwrap() {
        let both = baskets
            .iter()
            .filter(|b| b.contains("sku00") && b.contains(&pair.with))
            .count() as f64;
        assert!((pair.confidence - both / (support("sku00") * baskets.len() as f64)).abs() < 1e-12);
        assert!((pair.lift - pair.confidence / support(&pair.with)).abs() < 1e-9);
    }
    assert_eq!(
        together.bought_with("sku0", 3).unwrap_err().kind(),
        "unknown_name"
    );

    // Recommendations: never what the person has; popular items for someone without history.
    let everyone = a.recommend_segment(EVERYONE, &together, 5, now).unwrap();
    assert_eq!(everyone.len(), 400);
    for (id, picks) in &everyone {
        assert_eq!(picks, &a.recommend(id, &together, 5).unwrap());
        let had: std::collections::BTreeSet<String> = a
            .profile(id)
            .unwrap()
            .events
            .iter()
            .filter_map(|e| match e.properties.first() {
                Some((_, segcore::Value::String(sku))) => Some(sku.clone()),
                _ => None,
            })
            .collect();
        assert!(picks.iter().all(|r| !had.contains(&r.item)), "{id}");
        assert!(picks.len() <= 5);
    }
    let newcomer = everyone
        .iter()
        .find(|(id, _)| a.profile(id).unwrap().events.is_empty())
        .unwrap();
    assert!(newcomer
        .1
        .iter()
        .all(|r| r.because == segcore::insight::Because::Popular));
    assert_eq!(newcomer.1[0].item, "sku00");
}
