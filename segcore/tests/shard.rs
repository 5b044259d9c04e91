//! Shards: an audience split by `shard_of` holds every profile once, whole; counts and members
//! over the shards equal the whole's for random audiences and random predicates; KPI parts
//! merge into the whole's report; schemas exchange, refusing contradictions.

#[path = "common/grammar.rs"]
mod grammar;

use std::collections::BTreeSet;

use proptest::prelude::*;
use segcore::insight::Outcome;
use segcore::sample::{SampleShop, SEGMENTS};
use segcore::{shard_of, Audience, Error};

#[test]
fn every_profile_lands_once_and_whole() {
    let shop = SampleShop::new(300);
    let mut whole = shop.build();
    for (_, name, text) in SEGMENTS {
        whole
            .define_segment(name, whole.predicate(text).unwrap())
            .unwrap();
    }
    let shards = whole.split(3).unwrap();
    for (k, shard) in shards.iter().enumerate() {
        assert_eq!(shard.time_zone(), whole.time_zone());
        assert_eq!(shard.catalog().iter().count(), SEGMENTS.len());
        assert_eq!(shard.schema_json(), whole.schema_json());
        for slot in 0..300 {
            let id = format!("c{slot:07}");
            let mine = shard_of(&id, 3) == k as u32;
            match (mine, shard.profile(&id), whole.profile(&id)) {
                (true, Some(mut p), Some(w)) => {
                    p.slot = w.slot;
                    assert_eq!(p, w, "{id}");
                }
                (false, None, Some(_)) => {}
                other => panic!("{id}: {:?}", (other.0, other.1.is_some())),
            }
        }
    }
    assert_eq!(shards.iter().map(Audience::len).sum::<usize>(), 300);
    assert!(whole.split(0).is_err());
}

#[test]
fn kpi_parts_merge_into_the_whole_report() {
    let shop = SampleShop::new(600);
    let whole = shop.build();
    let segments = [r#"country == "SE""#, "age < 30", r#"tag "vip""#];
    let month_ago = shop.now - jiff::SignedDuration::from_hours(24 * 30);
    let spent = Outcome::Sum {
        event: "purchase".into(),
        property: "amount".into(),
        from: month_ago,
        to: shop.now,
    };
    let parts: Vec<_> = whole
        .split(4)
        .unwrap()
        .iter()
        .map(|s| s.kpi_parts(&segments, &spent, month_ago).unwrap())
        .collect();
    let merged = parts[1..]
        .iter()
        .try_fold(parts[0].clone(), |acc, p| acc.merge(p))
        .unwrap();
    let got = merged.report(0.95).unwrap();
    let want = whole.kpis(&segments, &spent, month_ago, 0.95).unwrap();
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        (None, None) => true,
        _ => false,
    };
    for (g, w) in got.rows.iter().zip(&want.rows) {
        assert_eq!(
            (g.segment.as_str(), g.members),
            (w.segment.as_str(), w.members)
        );
        assert!(close(g.estimate, w.estimate), "{g:?} {w:?}");
        assert!(close(g.interval.map(|i| i.low), w.interval.map(|i| i.low)));
        assert!(close(
            g.vs_rest.map(|t| t.p_value),
            w.vs_rest.map(|t| t.p_value)
        ));
        assert!(close(g.adjusted_p_value, w.adjusted_p_value));
    }
    let other = whole.kpi_parts(&["age < 40"], &spent, month_ago).unwrap();
    assert!(merged.merge(&other).is_err());
}

#[test]
fn schemas_exchange_and_refuse_contradictions() {
    let at: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    let mut a = Audience::new();
    a.upsert("x", [("score", 1.0.into())]).unwrap();
    a.track("x", segcore::Event::new("refund", at).value("amount", 2.0))
        .unwrap();
    a.tag("x", "interest:yoga", at).unwrap();
    a.declare_channel("whatsapp").unwrap();
    let mut b = Audience::new();
    b.declare_schema_json(&a.schema_json()).unwrap();
    assert_eq!(b.schema_json(), a.schema_json());
    let mut c = Audience::new();
    c.upsert("y", [("score", "high".into())]).unwrap();
    let before = c.schema_json();
    let err = c.declare_schema_json(&a.schema_json()).unwrap_err();
    assert!(matches!(err, Error::Schema { .. }), "{err}");
    assert_eq!(
        c.schema_json(),
        before,
        "a refused exchange declares nothing"
    );
    assert!(c.declare_schema_json("{not json").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random audiences and grammar predicates: the shards' counts add up to the whole's and
    /// their members make up the whole's.
    #[test]
    fn shards_answer_like_the_whole(
        audience_bytes in prop::collection::vec(any::<u8>(), 0..400),
        predicates in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..60), 1..6),
        shards in 1u32..5,
    ) {
        let whole = grammar::random_audience(&audience_bytes);
        let parts = whole.split(shards).unwrap();
        let now = grammar::nows()[0];
        for bytes in &predicates {
            let text = grammar::predicate_text(bytes);
            let Ok(p) = whole.predicate(&text) else { continue };
            let want: BTreeSet<String> = whole.members(&p, now).unwrap().into_iter().collect();
            let mut got = BTreeSet::new();
            let mut count = 0;
            for part in &parts {
                let p = part.predicate(&text).unwrap();
                count += part.count(&p, now).unwrap();
                got.extend(part.members(&p, now).unwrap());
            }
            prop_assert_eq!(count as usize, want.len(), "{}", text);
            prop_assert_eq!(got, want, "{}", text);
        }
    }
}
