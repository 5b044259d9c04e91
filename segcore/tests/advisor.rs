//! The advisor on audiences with planted cases finds exactly the planted ones.

use std::collections::BTreeSet;

use jiff::Timestamp;
use segcore::insight::{Advisor, FindingKind, Outcome};
use segcore::{AttrType, Audience, Decision, Event};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn bought(a: &Audience) -> Outcome {
    Outcome::Converts {
        predicate: a.predicate("did purchase").unwrap(),
        at: t("2024-06-15T00:00:00Z"),
    }
}

/// 10,000 profiles: 2,000 that buy at 30% (`differs`, and `differs_copy` with the same people
/// by another definition), 2,000 that buy at exactly the rate of everyone else (`nodiff`,
/// 15%), 6,000 at 10% among whom 5 are `tiny`; `empty` matches nobody; the decision `offer`
/// has a second rule every member of which its first rule takes.
fn planted() -> Audience {
    let mut a = Audience::new();
    a.declare_attribute("country", AttrType::String).unwrap();
    let bought_at = t("2024-06-02T00:00:00Z");
    for i in 0..10_000 {
        let id = format!("p{i}");
        let (cohort, converts) = match i {
            0..2_000 => ("d", i % 10 < 3),
            2_000..4_000 => ("n", i % 20 < 3),
            _ => ("o", i % 10 == 0),
        };
        a.upsert(&id, [("cohort", cohort.into())]).unwrap();
        if cohort == "d" {
            a.tag(&id, "d", bought_at).unwrap();
        }
        if (4_000..4_005).contains(&i) {
            a.tag(&id, "tiny", bought_at).unwrap();
        }
        if i < 100 {
            a.tag(&id, "vip", bought_at).unwrap();
        }
        if converts {
            a.track(&id, Event::new("purchase", bought_at)).unwrap();
        }
    }
    for (name, text) in [
        ("differs", r#"cohort == "d""#),
        ("differs_copy", r#"tag "d""#),
        ("empty", r#"country == "XX""#),
        ("nodiff", r#"cohort == "n""#),
        ("tiny", r#"tag "tiny""#),
    ] {
        a.define_segment(name, a.predicate(text).unwrap()).unwrap();
    }
    let offer = Decision::from_json(
        r#"{"rules": [{"segment": "differs", "variant": "a"},
                      {"when": "segment differs and tag \"vip\"", "variant": "b"},
                      {"segment": "nodiff", "variant": "b"}],
            "default": "c", "variants": {"a": {}, "b": {}, "c": {}}}"#,
    )
    .unwrap();
    a.define_decision("offer", offer).unwrap();
    a
}

#[test]
fn the_planted_cases_and_only_they_are_found() {
    let a = planted();
    let advice = a
        .advise(&Advisor::new(bought(&a), t("2024-06-01T00:00:00Z"), 0.1))
        .unwrap();
    let found: BTreeSet<(FindingKind, Vec<String>, Option<String>)> = advice
        .findings
        .iter()
        .map(|f| (f.kind, f.segments.clone(), f.decision.clone()))
        .collect();
    let s = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let expected: BTreeSet<_> = [
        (FindingKind::Empty, s(&["empty"]), None),
        (
            FindingKind::NearDuplicate,
            s(&["differs", "differs_copy"]),
            None,
        ),
        (FindingKind::TooSmall, s(&["tiny"]), None),
        (FindingKind::Differs, s(&["differs"]), None),
        (FindingKind::NoDifference, s(&["nodiff"]), None),
        (FindingKind::ShadowedRule, s(&[]), Some("offer".to_owned())),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, expected, "{:#?}", advice.findings);

    // Each finding carries its reason and numbers.
    let by_kind = |k: FindingKind| advice.findings.iter().find(|f| f.kind == k).unwrap();
    let nodiff = by_kind(FindingKind::NoDifference);
    assert_eq!(nodiff.numbers["estimate"], 0.15);
    assert_eq!(nodiff.numbers["rest_estimate"], 0.15);
    assert_eq!(nodiff.numbers["adjusted_p_value"], 1.0);
    assert!(
        nodiff.reason.contains("15.0% against 15.0%"),
        "{}",
        nodiff.reason
    );
    let differs = by_kind(FindingKind::Differs);
    assert_eq!(differs.numbers["estimate"], 0.3);
    assert_eq!(differs.numbers["rest_estimate"], 0.1125);
    assert!(differs.numbers["adjusted_p_value"] < 1e-50);
    let tiny = by_kind(FindingKind::TooSmall);
    assert_eq!(tiny.numbers["members"], 5.0);
    // Baseline 15% (1,500 of 10,000 buy) to 25%: 250 a group.
    assert_eq!(tiny.numbers["needed_per_arm"], 250.0);
    let dup = by_kind(FindingKind::NearDuplicate);
    assert_eq!(dup.numbers["jaccard"], 1.0);
    let shadowed = by_kind(FindingKind::ShadowedRule);
    assert_eq!(shadowed.numbers["rule"], 1.0);
    assert!(
        shadowed.reason.contains("rule 2 of `offer`"),
        "{}",
        shadowed.reason
    );

    // The suggestion keeps the two reviewed segments apart: they differ.
    let groups: Vec<Vec<String>> = advice
        .suggested
        .iter()
        .map(|g| g.segments.clone())
        .collect();
    assert_eq!(groups, [s(&["differs"]), s(&["nodiff"])]);
}

#[test]
fn siblings_that_respond_alike_are_merge_candidates_and_merged_in_the_suggestion() {
    let mut a = Audience::new();
    for i in 0..4_000 {
        let id = format!("p{i}");
        let region = ["north", "south", "east", "west"][i % 4];
        a.upsert(
            &id,
            [("region", region.into()), ("member", (i < 3_000).into())],
        )
        .unwrap();
        // north and south buy at 20%, east at 40%, west (not members) at 5%.
        let converts = match region {
            "north" | "south" => i % 20 < 4,
            "east" => i % 20 < 8,
            _ => i % 20 == 0,
        };
        if converts {
            a.track(&id, Event::new("purchase", t("2024-06-02T00:00:00Z")))
                .unwrap();
        }
    }
    for (name, text) in [
        ("members", "member == true"),
        ("north", r#"segment members and region == "north""#),
        ("south", r#"segment members and region == "south""#),
        ("east", r#"segment members and region == "east""#),
    ] {
        a.define_segment(name, a.predicate(text).unwrap()).unwrap();
    }
    let advice = a
        .advise(&Advisor::new(bought(&a), t("2024-06-01T00:00:00Z"), 0.1))
        .unwrap();
    let merges: Vec<Vec<String>> = advice
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::MergeWithSibling)
        .map(|f| f.segments.clone())
        .collect();
    assert_eq!(merges, [vec!["north".to_owned(), "south".to_owned()]]);
    let groups: Vec<Vec<String>> = advice
        .suggested
        .iter()
        .map(|g| g.segments.clone())
        .collect();
    // `members` (21%: west's members buy at 5%) does not differ from north and south either.
    assert_eq!(
        groups,
        [
            vec!["east".to_owned()],
            vec!["members".to_owned(), "north".to_owned(), "south".to_owned()]
        ]
    );
}

#[test]
fn the_advisor_refuses_bad_thresholds() {
    let a = planted();
    let mut advisor = Advisor::new(bought(&a), t("2024-06-01T00:00:00Z"), 0.1);
    advisor.alpha = 0.0;
    assert_eq!(a.advise(&advisor).unwrap_err().kind(), "invalid_value");
    let advisor = Advisor::new(bought(&a), t("2024-06-01T00:00:00Z"), -1.0);
    assert_eq!(a.advise(&advisor).unwrap_err().kind(), "invalid_value");
}
