//! `why` agrees with the reference evaluator clause by clause: on random audiences and random
//! predicates, the top verdict is the reference's answer, each `and` / `or` / `not` follows
//! from its parts, and every leaf says what it saw and what it needed.

mod common;

use common::{audience_strategy, build, valid_predicate};
use proptest::prelude::*;
use segcore::{Clause, Predicate, Why};

fn consistent(why: &Why) -> Result<(), TestCaseError> {
    for part in &why.parts {
        consistent(part)?;
    }
    let parts: Vec<bool> = why.parts.iter().map(|p| p.holds).collect();
    let expected = match why.clause {
        Clause::Leaf => {
            prop_assert!(why.parts.is_empty());
            prop_assert!(
                why.seen.is_some() && why.needed.is_some(),
                "{}",
                why.condition
            );
            return Ok(());
        }
        Clause::All => parts.iter().all(|&h| h),
        Clause::Any => parts.iter().any(|&h| h),
        Clause::Not => !parts[0],
        Clause::Segment => parts[0],
    };
    prop_assert_eq!(why.holds, expected, "{}", why.condition);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn why_agrees_with_the_reference(
        (specs, mutations) in audience_strategy(),
        p in valid_predicate(),
    ) {
        let mut a = build(&specs, &mutations);
        a.define_segment("probe", p.clone()).unwrap();
        let now = common::now();
        for i in 0..16 {
            let id = common::id(i);
            if a.slot(&id).is_none() {
                continue;
            }
            let expected = a.matches_by_reference(&id, &Predicate::segment("probe"), now).unwrap();
            let why = a.why(&id, "probe", now).unwrap();
            prop_assert_eq!(why.holds, expected, "{}", p);
            consistent(&why)?;
            // By text too, and the text form reads as a tree of ✓ / ✗ lines.
            let by_text = a.why(&id, &p.to_string(), now).unwrap();
            prop_assert_eq!(by_text.holds, expected);
            let text = why.to_string();
            prop_assert!(text.starts_with(if expected { "✓" } else { "✗" }), "{}", text);
        }
    }
}

#[test]
fn why_names_unknown_profiles_and_segments() {
    let mut a = segcore::Audience::new();
    a.upsert("ada", [("age", 17.into())]).unwrap();
    a.define_segment("adults", a.predicate("age >= 18").unwrap())
        .unwrap();
    let now = common::now();
    assert_eq!(
        a.why("bob", "adults", now).unwrap_err().kind(),
        "unknown_name"
    );
    let e = a.why("ada", "adultz", now).unwrap_err();
    assert!(matches!(e.kind(), "unknown_name" | "parse"), "{e}");
    let why = a.why("ada", "adults", now).unwrap();
    assert_eq!(
        why.to_string(),
        "✗ segment adults\n  ✗ age >= 18: age = 17, needed >= 18\n"
    );
}
