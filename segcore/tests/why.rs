//! `why` agrees with the reference evaluator clause by clause: on random audiences and random
//! predicates, the top verdict is the reference's answer, each `and` / `or` / `not` follows
//! from its parts, and every leaf says what it saw and what it needed. Each clause's verdict
//! is also checked against an independent computation: the clause's own text, parsed again and
//! run by the bitmap matcher over the whole audience (which shares no code with `why` or the
//! reference's per-profile walk), must hold exactly for the profiles it lists.

mod common;

use common::{audience_strategy, build, valid_predicate};
use proptest::prelude::*;
use segcore::{Clause, Predicate, Why};

/// Every clause of `why`, checked against the bitmap matcher: walking the predicate beside the
/// explanation (a segment's `and` / `or` definition shows its parts under the segment's name),
/// each clause's predicate holds for the profile in `slot` exactly when the explanation says
/// so; an attribute leaf says the value the profile holds, or that it is missing.
fn matcher_agrees(
    a: &segcore::Audience,
    id: &str,
    p: &Predicate,
    why: &Why,
    now: jiff::Timestamp,
) -> Result<(), TestCaseError> {
    let slot = a.slot(id).unwrap();
    let members = a.member_slots(p, now).unwrap();
    prop_assert_eq!(
        members.contains(&slot),
        why.holds,
        "the matcher and why differ on `{}` (shown as `{}`)",
        p,
        why.condition
    );
    let zip = |parts: &[Predicate]| -> Result<(), TestCaseError> {
        prop_assert_eq!(parts.len(), why.parts.len(), "{}", p);
        for (q, part) in parts.iter().zip(&why.parts) {
            matcher_agrees(a, id, q, part, now)?;
        }
        Ok(())
    };
    match p {
        Predicate::And(parts) | Predicate::Or(parts) => zip(parts)?,
        Predicate::Not(inner) => matcher_agrees(a, id, inner, &why.parts[0], now)?,
        Predicate::Segment(name) => match a.catalog().get(name) {
            Some(Predicate::And(parts) | Predicate::Or(parts)) => zip(parts)?,
            Some(q) => matcher_agrees(a, id, q, &why.parts[0], now)?,
            None => {}
        },
        Predicate::Attribute { name, .. } => {
            let seen = why.seen.as_deref().unwrap_or_default();
            match a
                .profile(id)
                .and_then(|pr| pr.attributes.get(name.as_str()).cloned())
            {
                Some(_) => prop_assert!(seen.starts_with(&format!("{name} = ")), "{}", seen),
                None => prop_assert_eq!(seen, format!("{name} is missing")),
            }
        }
        _ => {}
    }
    Ok(())
}

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
            matcher_agrees(&a, &id, &Predicate::segment("probe"), &why, now)?;
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
