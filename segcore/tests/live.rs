//! Live membership against the reference: random audiences, random catalogs (with segments
//! that refer to each other), and random sequences of writes and clock advances. After every
//! step each segment's live members equal a full recomputation by the reference evaluator at
//! the clock, and the transitions reported are exactly the changes, each stamped with the
//! instant it happened.
//!
//! `PROPTEST_CASES=5000 cargo test -p segcore --test live --release` is the soak setting.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{
    apply_mutation, audience_strategy, build, mutation, seconds_from_now, valid_predicate, Mutation,
};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use segcore::{Audience, Direction, Event, Predicate, Transition};

#[derive(Debug, Clone)]
enum Step {
    Write(Mutation),
    /// A profile never seen before gets an event at seconds from the fixed `now`.
    Newcomer(usize, &'static str, i64),
    /// Moves the clock forward by this many nanoseconds.
    Advance(i64),
    /// Moves the clock to exactly the next instant a change is due, if any.
    ToNextChange,
    /// Tries to move the clock back (refused, nothing changes).
    Back,
}

fn step(profiles: usize) -> impl Strategy<Value = Step> {
    const S: i64 = 1_000_000_000;
    prop_oneof![
        4 => mutation(profiles).prop_map(Step::Write),
        1 => (0..4usize, prop::sample::select(vec!["purchase", "view"]), -40 * 86_400i64..10 * 86_400)
            .prop_map(|(i, e, at)| Step::Newcomer(i, e, at)),
        3 => prop_oneof![
            1..1_000i64,
            S..3_600 * S,
            3_600 * S..86_400 * S,
            86_400 * S..12 * 86_400 * S,
        ]
        .prop_map(Step::Advance),
        2 => Just(Step::ToNextChange),
        1 => Just(Step::Back),
    ]
}

fn scenario() -> impl Strategy<
    Value = (
        Vec<common::ProfileSpec>,
        Vec<Mutation>,
        Vec<Predicate>,
        i64,
        Vec<Step>,
    ),
> {
    audience_strategy().prop_flat_map(|(specs, mutations)| {
        let n = specs.len();
        (
            Just(specs),
            Just(mutations),
            prop::collection::vec(valid_predicate(), 3),
            // The clock starts up to 40 days before the fixed `now` the data is placed around.
            -40 * 86_400i64..86_400,
            prop::collection::vec(step(n), 1..24),
        )
    })
}

/// The random catalog: three segments, the second refers to the first and the third to the
/// second (beside the fixed `adults`, `engaged` and `engaged_adults` of the common audience).
fn define_catalog(a: &mut Audience, predicates: &[Predicate]) {
    a.define_segment("r0", predicates[0].clone()).unwrap();
    let r1 = Predicate::And(vec![Predicate::segment("r0"), predicates[1].clone()]);
    a.define_segment("r1", r1).unwrap();
    let r2 = Predicate::Or(vec![Predicate::segment("r1").not(), predicates[2].clone()]);
    a.define_segment("r2", r2).unwrap();
}

type Members = BTreeMap<String, BTreeSet<u32>>;

fn live_members(a: &Audience) -> Members {
    a.catalog()
        .names()
        .map(|n| {
            (
                n.to_owned(),
                a.live_member_slots(n).unwrap().into_iter().collect(),
            )
        })
        .collect()
}

fn reference_members(a: &Audience, at: Timestamp) -> Members {
    a.catalog()
        .names()
        .map(|n| {
            let slots = a
                .member_slots_by_reference(&Predicate::segment(n), at)
                .unwrap();
            (n.to_owned(), slots.into_iter().collect())
        })
        .collect()
}

/// Members after applying `transitions` (in order) to `before`, refusing impossible ones.
fn replay(before: &Members, transitions: &[Transition]) -> Result<Members, String> {
    let mut m = before.clone();
    for t in transitions {
        let set = m
            .get_mut(&t.segment)
            .ok_or(format!("unknown segment in {t}"))?;
        let changed = match t.direction {
            Direction::Entered => set.insert(t.slot),
            Direction::Left => set.remove(&t.slot),
        };
        if !changed {
            return Err(format!("{t} does not change membership"));
        }
    }
    Ok(m)
}

fn nanos(t: Timestamp, d: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_nanos(d)).unwrap()
}

fn check_advance(
    a: &Audience,
    before: &Members,
    from: Timestamp,
    to: Timestamp,
    moved: &[Transition],
) -> Result<(), TestCaseError> {
    // In time order, inside (from, to].
    for pair in moved.windows(2) {
        prop_assert!(
            pair[0].at <= pair[1].at,
            "out of order: {} then {}",
            pair[0],
            pair[1]
        );
    }
    for t in moved {
        prop_assert!(from < t.at && t.at <= to, "{t} outside ({from}, {to}]");
    }
    // At each transition's instant the reference agrees with the new state, and a nanosecond
    // before with the old one: the stamp is the exact moment.
    for (i, t) in moved.iter().enumerate() {
        let p = Predicate::segment(&t.segment);
        let is = |at| {
            a.member_slots_by_reference(&p, at)
                .unwrap()
                .contains(&t.slot)
        };
        let entered = t.direction == Direction::Entered;
        prop_assert_eq!(is(t.at), entered, "{} (#{})", t, i);
        prop_assert_eq!(
            is(nanos(t.at, -1)),
            !entered,
            "{} a nanosecond before (#{})",
            t,
            i
        );
    }
    // Between them, membership as replayed equals the reference at sampled instants.
    let span = to.as_nanosecond() - from.as_nanosecond();
    let mut instants: Vec<Timestamp> = (1..=6)
        .map(|k| Timestamp::from_nanosecond(from.as_nanosecond() + span * k / 6).unwrap())
        .collect();
    instants.extend(moved.iter().map(|t| t.at));
    for at in instants {
        let upto: Vec<Transition> = moved.iter().filter(|t| t.at <= at).cloned().collect();
        let expected = replay(before, &upto).map_err(TestCaseError::fail)?;
        prop_assert_eq!(&expected, &reference_members(a, at), "at {}", at);
    }
    Ok(())
}

/// Many segments at once (so that live membership narrows them by the profile's keys before
/// evaluating): each random predicate alone, and with each of a few key conditions.
fn define_wide_catalog(a: &mut Audience, predicates: &[Predicate]) {
    define_catalog(a, predicates);
    let keys = [
        r#"country == "SE""#,
        r#"tag "vip""#,
        "consent email",
        r#"tag "interest:*""#,
        "age in [18, 30]",
        "did purchase",
        r#"interests contains "yoga""#,
        "newsletter == true",
        r#"country in ["SE", "DK"] and tag "vip""#,
        "segment r1",
    ];
    for (i, p) in predicates.iter().enumerate() {
        for (k, key) in keys.iter().enumerate() {
            let key = a.predicate(key).unwrap();
            let both = Predicate::And(vec![key, p.clone()]);
            a.define_segment(&format!("w{i}_{k}"), both).unwrap();
        }
    }
}

fn run(
    specs: &[common::ProfileSpec],
    mutations: &[Mutation],
    predicates: &[Predicate],
    start: i64,
    steps: &[Step],
) -> Result<(), TestCaseError> {
    let mut a = build(specs, mutations);
    if predicates.len() > 3 {
        define_wide_catalog(&mut a, predicates);
    } else {
        define_catalog(&mut a, predicates);
    }
    let clock = seconds_from_now(start);
    a.start_live(clock).unwrap();
    prop_assert_eq!(live_members(&a), reference_members(&a, clock));
    for (i, s) in steps.iter().enumerate() {
        let before = live_members(&a);
        let from = a.clock().unwrap();
        let moved = match s {
            Step::Write(m) => {
                apply_mutation(&mut a, m);
                a.drain_transitions()
            }
            Step::Newcomer(n, e, at) => {
                let id = format!("new{n}");
                a.apply(segcore::Write::Track {
                    id,
                    event: Event::new(*e, seconds_from_now(*at)).value("amount", 12.0),
                })
                .unwrap()
            }
            Step::Advance(d) => a.advance_to(nanos(from, *d)).unwrap(),
            Step::ToNextChange => match a.next_change_at() {
                Some(t) => {
                    prop_assert!(t > from);
                    let moved = a.advance_to(t).unwrap();
                    // The promise: an instant where something changes, not a lower bound.
                    prop_assert!(!moved.is_empty(), "nothing changed at next_change_at {}", t);
                    moved
                }
                None => Vec::new(),
            },
            Step::Back => {
                let e = a.advance_to(nanos(from, -1)).unwrap_err();
                prop_assert_eq!(e.kind(), "clock_backwards");
                Vec::new()
            }
        };
        let to = a.clock().unwrap();
        let after = live_members(&a);
        prop_assert_eq!(
            &after,
            &reference_members(&a, to),
            "after step {} {:?}",
            i,
            s
        );
        prop_assert_eq!(
            &replay(&before, &moved).map_err(TestCaseError::fail)?,
            &after,
            "transitions of step {} {:?}",
            i,
            s
        );
        match s {
            Step::Advance(_) | Step::ToNextChange => check_advance(&a, &before, from, to, &moved)?,
            _ => {
                for t in &moved {
                    prop_assert_eq!(t.at, to, "a write's transitions are stamped with the clock");
                }
            }
        }
        // Nothing is due before the clock, and nothing is missed up to the next due instant.
        if let Some(next) = a.next_change_at() {
            prop_assert!(next > to);
            prop_assert_ne!(
                &reference_members(&a, next),
                &after,
                "next_change_at {} changes nothing",
                next
            );
            let just_before = nanos(next, -1);
            if just_before > to {
                prop_assert_eq!(
                    &reference_members(&a, just_before),
                    &after,
                    "changed before {}",
                    next
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(96)
    ))]

    #[test]
    fn live_membership_equals_the_reference_after_every_step(
        (specs, mutations, predicates, start, steps) in scenario()
    ) {
        run(&specs, &mutations, &predicates, start, &steps)?;
    }

    /// The same over a catalog of 46 segments.
    #[test]
    fn live_membership_over_a_wide_catalog_equals_the_reference(
        (specs, mutations, predicates, start, steps) in scenario(),
        more in prop::collection::vec(valid_predicate(), 1),
    ) {
        let mut predicates = predicates;
        predicates.extend(more);
        run(&specs, &mutations, &predicates, start, &steps)?;
    }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn a_full_queue_refuses_writes_and_applies_nothing() {
    let mut a = Audience::new();
    a.define_segment("vips", a.predicate(r#"tag "vip""#).unwrap())
        .unwrap();
    a.set_queue_capacity(2).unwrap();
    a.start_live(at("2024-01-01T00:00:00Z")).unwrap();
    let t = at("2024-01-01T00:00:00Z");
    a.tag("p1", "vip", t).unwrap();
    a.tag("p2", "vip", t).unwrap();
    assert_eq!(a.queued_transitions(), 2);
    let e = a.tag("p3", "vip", t).unwrap_err();
    assert_eq!(e.kind(), "queue_full");
    assert!(e.to_string().contains("drain"), "{e}");
    assert!(a.profile("p3").is_none(), "a refused write changes nothing");
    // `apply` returns its transitions instead of queueing them, so it is not refused.
    let moved = a
        .apply(segcore::Write::Tag {
            id: "p3".into(),
            tag: "vip".into(),
            at: t,
        })
        .unwrap();
    assert_eq!(moved.len(), 1);
    // Erasing is never refused: p1 leaves even though the queue is full.
    assert!(a.erase("p1").unwrap());
    assert_eq!(a.queued_transitions(), 3);
    let drained = a.drain_transitions();
    let text: Vec<String> = drained.iter().map(|t| t.to_string()).collect();
    assert_eq!(
        text,
        [
            "p1 entered vips at 2024-01-01T00:00:00Z",
            "p2 entered vips at 2024-01-01T00:00:00Z",
            "p1 left vips at 2024-01-01T00:00:00Z",
        ]
    );
    a.tag("p3", "other", t).unwrap();
    assert_eq!(a.set_queue_capacity(0).unwrap_err().kind(), "invalid_value");
}

#[test]
fn live_calls_need_live_membership_and_a_forward_clock() {
    let mut a = Audience::new();
    a.define_segment("vips", a.predicate(r#"tag "vip""#).unwrap())
        .unwrap();
    assert_eq!(
        a.advance_to(at("2024-01-01T00:00:00Z")).unwrap_err().kind(),
        "not_live"
    );
    assert_eq!(a.live_member_slots("vips").unwrap_err().kind(), "not_live");
    assert_eq!(a.clock(), None);
    assert_eq!(a.next_change_at(), None);
    a.start_live(at("2024-01-02T00:00:00Z")).unwrap();
    let e = a.advance_to(at("2024-01-01T00:00:00Z")).unwrap_err();
    assert_eq!(e.kind(), "clock_backwards");
    assert_eq!(
        a.clock(),
        Some(at("2024-01-02T00:00:00Z")),
        "the clock did not move"
    );
    let e = a.live_member_slots("vip").unwrap_err();
    assert!(e.to_string().contains("did you mean `vips`"), "{e}");
    a.stop_live();
    assert_eq!(a.clock(), None);
}

#[test]
fn catalog_changes_rebaseline_without_transitions_and_nested_segments_follow() {
    let t = at("2024-01-01T00:00:00Z");
    let mut a = Audience::new();
    a.upsert("ada", [("age", 40.into())]).unwrap();
    a.upsert("bob", [("age", 17.into())]).unwrap();
    a.define_segment("adults", a.predicate("age >= 18").unwrap())
        .unwrap();
    a.define_segment(
        "vip_adults",
        a.predicate(r#"segment adults and tag "vip""#).unwrap(),
    )
    .unwrap();
    a.start_live(t).unwrap();
    a.tag("bob", "vip", t).unwrap();
    assert!(a.drain_transitions().is_empty(), "bob is no adult");
    // A write to what the referred segment reads moves the segment that refers to it.
    a.upsert("bob", [("age", 18.into())]).unwrap();
    let moved: Vec<String> = a
        .drain_transitions()
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(
        moved,
        [
            "bob entered adults at 2024-01-01T00:00:00Z",
            "bob entered vip_adults at 2024-01-01T00:00:00Z"
        ]
    );
    // Redefining re-baselines it and what refers to it, silently.
    a.define_segment("adults", a.predicate("age >= 21").unwrap())
        .unwrap();
    assert!(a.drain_transitions().is_empty());
    assert_eq!(
        a.live_member_slots("vip_adults").unwrap(),
        Vec::<u32>::new()
    );
    assert_eq!(a.live_member_slots("adults").unwrap(), [0]);
    // A new segment starts with its members; a removed one is gone.
    a.define_segment("teens", a.predicate("age < 20").unwrap())
        .unwrap();
    assert_eq!(a.live_member_slots("teens").unwrap(), [1]);
    a.remove_segment("teens").unwrap();
    assert_eq!(
        a.live_member_slots("teens").unwrap_err().kind(),
        "unknown_name"
    );
}

#[test]
fn events_stamped_after_the_clock_count_when_the_clock_reaches_them() {
    let mut a = Audience::new();
    a.declare_event("purchase").unwrap();
    a.define_segment("buyers", a.predicate("did purchase").unwrap())
        .unwrap();
    a.start_live(at("2024-01-01T00:00:00Z")).unwrap();
    a.track("ada", Event::new("purchase", at("2024-01-05T10:00:00Z")))
        .unwrap();
    assert!(a.drain_transitions().is_empty());
    assert_eq!(a.next_change_at(), Some(at("2024-01-05T10:00:00Z")));
    let moved = a.advance_to(at("2024-02-01T00:00:00Z")).unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].at, at("2024-01-05T10:00:00Z"));
    assert_eq!(a.next_change_at(), None);
}

#[test]
fn calendar_periods_turn_at_local_midnight() {
    let mut a = Audience::with_time_zone("Europe/Stockholm").unwrap();
    a.declare_event("visit").unwrap();
    a.define_segment("today", a.predicate("did visit in this day").unwrap())
        .unwrap();
    a.start_live(at("2024-03-30T12:00:00Z")).unwrap();
    a.track("ada", Event::new("visit", at("2024-03-30T11:00:00Z")))
        .unwrap();
    assert_eq!(a.drain_transitions().len(), 1);
    // Stockholm's midnight is 23:00 UTC in winter.
    let moved = a.advance_to(at("2024-04-02T00:00:00Z")).unwrap();
    assert_eq!(moved[0].at, at("2024-03-30T23:00:00Z"));
    assert_eq!(moved[0].direction, Direction::Left);
}
