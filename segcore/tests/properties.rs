//! Property tests: any AST prints to text and reads back the same, through text and through
//! JSON; and on random audiences, the boolean laws hold (De Morgan, double negation, `not` as
//! the complement of the live profiles).

use std::collections::BTreeSet;

use jiff::civil::{Date, DateTime};
use jiff::Timestamp;
use proptest::prelude::*;
use segcore::language::{
    AggFunc, CalendarUnit, CmpOp, CountTest, DistanceUnit, Duration, DurationUnit, Filter, Literal,
    Near, Test, TextPattern, TimeLiteral, TimeRef, Which, Window,
};
use segcore::{Audience, Predicate};

// ---------- arbitrary ASTs (for the round trips) ----------

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "age",
            "country",
            "x1",
            "_private",
            "first name",
            "and",
            "tag",
            "not",
            "within",
            "a`b",
            "événement",
            "sum",
            "last",
            "at",
            "times",
            "exists",
        ])
        .prop_map(str::to_owned),
        "[a-z_][a-z0-9_]{0,8}",
        "\\PC{1,6}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z:*\"\\\\ ]{0,8}"]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |n| n.is_finite()),
        prop::sample::select(vec![0.0, -0.0, 1.0, -1.5, 0.1, 1e300, 5e-324, 30.0]),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    let unit = prop::sample::select(vec![
        DurationUnit::Second,
        DurationUnit::Minute,
        DurationUnit::Hour,
        DurationUnit::Day,
        DurationUnit::Week,
    ]);
    // Every amount the language allows, up to the unit's limit (10,000 years).
    unit.prop_flat_map(|unit| {
        (0..=unit.max_amount()).prop_map(move |amount| Duration { amount, unit })
    })
}

fn time_literal() -> impl Strategy<Value = TimeLiteral> {
    let date =
        (1900i16..2200, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap());
    prop_oneof![
        date.clone().prop_map(TimeLiteral::Date),
        (
            date,
            0i8..24,
            0i8..60,
            0i8..60,
            prop_oneof![Just(0i32), 0i32..1_000_000_000]
        )
            .prop_map(
                |(d, h, mi, s, ns)| TimeLiteral::DateTime(DateTime::from_parts(
                    d,
                    jiff::civil::Time::new(h, mi, s, ns).unwrap()
                ))
            ),
        (
            -2_000_000_000i64..5_000_000_000,
            prop_oneof![Just(0i32), 0i32..1_000_000_000]
        )
            .prop_map(|(s, ns)| TimeLiteral::Instant(Timestamp::new(s, ns).unwrap())),
    ]
}

fn time_ref() -> impl Strategy<Value = TimeRef> {
    prop_oneof![
        Just(TimeRef::Now {}),
        duration().prop_map(TimeRef::Ago),
        duration().prop_map(TimeRef::FromNow),
        time_literal().prop_map(TimeRef::At),
    ]
}

fn calendar_unit() -> impl Strategy<Value = CalendarUnit> {
    prop::sample::select(vec![
        CalendarUnit::Day,
        CalendarUnit::Week,
        CalendarUnit::Month,
        CalendarUnit::Quarter,
        CalendarUnit::Year,
    ])
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        duration().prop_map(Window::Last),
        calendar_unit().prop_map(Window::This),
        calendar_unit().prop_flat_map(|unit| {
            (1..=unit.max_count()).prop_map(move |count| Window::LastCalendar { unit, count })
        }),
        (time_ref(), time_ref()).prop_map(|(start, end)| Window::Between { start, end }),
        time_ref().prop_map(Window::Since),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<bool>().prop_map(Literal::Bool),
        number().prop_map(Literal::Number),
        text().prop_map(Literal::String),
        time_ref().prop_map(Literal::Time),
    ]
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ])
}

fn pattern() -> impl Strategy<Value = TextPattern> {
    (text(), any::<bool>()).prop_map(|(value, ignore_case)| TextPattern { value, ignore_case })
}

fn test_strategy() -> impl Strategy<Value = Test> {
    prop_oneof![
        (op(), literal()).prop_map(|(op, value)| Test::Cmp { op, value }),
        (literal(), literal()).prop_map(|(low, high)| Test::Between { low, high }),
        prop::collection::vec(literal(), 0..3).prop_map(Test::In),
        prop::collection::vec(literal(), 0..3).prop_map(Test::NotIn),
        Just(Test::Exists),
        Just(Test::Missing),
        pattern().prop_map(Test::Contains),
        pattern().prop_map(Test::StartsWith),
        pattern().prop_map(Test::EndsWith),
        text().prop_map(Test::Matches),
        prop::collection::vec(text(), 0..3).prop_map(Test::ContainsAny),
        prop::collection::vec(text(), 0..3).prop_map(Test::ContainsAll),
        window().prop_map(Test::Within),
    ]
}

fn filters() -> impl Strategy<Value = Vec<Filter>> {
    prop::collection::vec(
        (name(), test_strategy()).prop_map(|(key, test)| Filter { key, test }),
        0..3,
    )
}

fn leaf() -> impl Strategy<Value = Predicate> {
    let count =
        prop::option::of((op(), any::<u32>()).prop_map(|(op, times)| CountTest { op, times }));
    let func = prop::sample::select(vec![AggFunc::Sum, AggFunc::Avg, AggFunc::Min, AggFunc::Max]);
    let which = prop::sample::select(vec![Which::First, Which::Last]);
    let unit = prop::sample::select(vec![DistanceUnit::Km, DistanceUnit::Mi]);
    prop_oneof![
        (name(), test_strategy()).prop_map(|(name, test)| Predicate::Attribute { name, test }),
        (text(), prop::option::of(window()))
            .prop_map(|(tag, within)| Predicate::Tag { tag, within }),
        prop::collection::vec(text(), 0..3).prop_map(Predicate::TagAny),
        prop::collection::vec(text(), 0..3).prop_map(Predicate::TagAll),
        (name(), count, prop::option::of(window()), filters()).prop_map(
            |(event, count, window, filter)| {
                Predicate::Event {
                    event,
                    count,
                    window,
                    filter,
                }
            }
        ),
        (
            func,
            name(),
            name(),
            prop::option::of(window()),
            filters(),
            test_strategy()
        )
            .prop_map(
                |(func, event, value, window, filter, test)| Predicate::Aggregate {
                    func,
                    event,
                    value,
                    window,
                    filter,
                    test
                }
            ),
        (which, name(), filters(), test_strategy()).prop_map(|(which, event, filter, test)| {
            Predicate::Occurrence {
                which,
                event,
                filter,
                test,
            }
        }),
        (
            number(),
            number(),
            number(),
            unit,
            prop::option::of((name(), name()))
        )
            .prop_map(|(latitude, longitude, radius, unit, attrs)| {
                let (latitude_attribute, longitude_attribute) =
                    attrs.unwrap_or_else(|| ("latitude".into(), "longitude".into()));
                Predicate::Near(Near {
                    latitude,
                    longitude,
                    radius,
                    unit,
                    latitude_attribute,
                    longitude_attribute,
                })
            }),
        name().prop_map(Predicate::Consent),
        name().prop_map(Predicate::Segment),
    ]
}

fn predicate() -> impl Strategy<Value = Predicate> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Predicate::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Predicate::Or),
            inner.prop_map(|p| Predicate::Not(Box::new(p))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printed_text_parses_back_to_the_same_ast(p in predicate()) {
        let text = p.to_string();
        let back = Predicate::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, p, "{}", text);
    }

    #[test]
    fn json_form_reads_back_to_the_same_ast(p in predicate()) {
        let json = p.to_json();
        let back = Predicate::from_json(&json).map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        prop_assert_eq!(back, p);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,60}") {
        let _ = Predicate::parse(&s);
    }

    #[test]
    fn mangled_canonical_text_never_panics(p in predicate(), cut in any::<prop::sample::Index>()) {
        for (form, full) in [("text", p.to_string()), ("json", p.to_json())] {
            let mut at = cut.index(full.len() + 1);
            while !full.is_char_boundary(at) { at -= 1; }
            let truncated = &full[..at];
            let result = if form == "text" { Predicate::parse(truncated) } else { Predicate::from_json(truncated) };
            if at < full.len() && form == "json" {
                prop_assert!(result.is_err(), "truncated JSON was accepted: {}", truncated);
            }
        }
    }
}

// ---------- the laws, on random audiences ----------

mod common;

use common::{audience_strategy, build, valid_predicate, NOW};

fn members(a: &Audience, p: &Predicate) -> BTreeSet<String> {
    a.members(p, NOW.parse().unwrap())
        .unwrap()
        .into_iter()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn boolean_laws_hold_on_random_audiences(
        (specs, mutations) in audience_strategy(),
        a in valid_predicate(),
        b in valid_predicate(),
    ) {
        let audience = build(&specs, &mutations);
        // Mutations may create profile 0 even in an empty audience.
        let live: BTreeSet<String> = (0..specs.len().max(1))
            .map(|i| format!("p{i}"))
            .filter(|id| audience.slot(id).is_some())
            .collect();
        let ma = members(&audience, &a);
        let mb = members(&audience, &b);
        prop_assert!(ma.is_subset(&live), "only live profiles match");

        // not is the complement within the live profiles.
        let not_a = members(&audience, &a.clone().not());
        prop_assert_eq!(&not_a, &live.difference(&ma).cloned().collect());
        // Double negation.
        prop_assert_eq!(&members(&audience, &a.clone().not().not()), &ma);
        // De Morgan, both ways.
        let and = Predicate::And(vec![a.clone(), b.clone()]);
        let or = Predicate::Or(vec![a.clone(), b.clone()]);
        prop_assert_eq!(
            members(&audience, &and.clone().not()),
            members(&audience, &Predicate::Or(vec![a.clone().not(), b.clone().not()]))
        );
        prop_assert_eq!(
            members(&audience, &or.clone().not()),
            members(&audience, &Predicate::And(vec![a.clone().not(), b.clone().not()]))
        );
        // and / or are intersection / union.
        prop_assert_eq!(members(&audience, &and), ma.intersection(&mb).cloned().collect::<BTreeSet<_>>());
        prop_assert_eq!(members(&audience, &or), ma.union(&mb).cloned().collect::<BTreeSet<_>>());
        // count, members and matches agree.
        let now: Timestamp = NOW.parse().unwrap();
        prop_assert_eq!(audience.count(&a, now).unwrap(), ma.len() as u64);
        for id in &live {
            prop_assert_eq!(audience.matches(id, &a, now).unwrap(), ma.contains(id));
        }
    }
}
