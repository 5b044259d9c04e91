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
use segcore::{Audience, Event, Predicate, Value};

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
    (any::<u32>(), unit).prop_map(|(amount, unit)| Duration { amount, unit })
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
        (calendar_unit(), 1u32..=u32::MAX)
            .prop_map(|(unit, count)| Window::LastCalendar { unit, count }),
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

// ---------- random audiences and valid predicates (for the laws) ----------

#[derive(Debug, Clone)]
struct ProfileSpec {
    age: Option<f64>,
    country: Option<&'static str>,
    tags: Vec<(&'static str, i64)>,
    events: Vec<(&'static str, i64, Option<f64>, Option<&'static str>)>,
    email_consent: Option<bool>,
    location: Option<(f64, f64)>,
}

fn profile_spec() -> impl Strategy<Value = ProfileSpec> {
    let event = (
        prop::sample::select(vec!["purchase", "view"]),
        -60i64..5,
        prop::option::of(prop::sample::select(vec![0.0, 10.0, 25.5, 100.0])),
        prop::option::of(prop::sample::select(vec!["a", "b"])),
    );
    (
        prop::option::of(prop::sample::select(vec![17.0, 18.0, 30.0, 30.5, 64.0])),
        prop::option::of(prop::sample::select(vec!["SE", "DK", "se"])),
        prop::sample::subsequence(vec!["vip", "interest:a", "interest:b", "churn"], 0..4)
            .prop_flat_map(|tags| {
                let n = tags.len();
                (Just(tags), prop::collection::vec(-30i64..1, n))
            })
            .prop_map(|(tags, days)| tags.into_iter().zip(days).collect()),
        prop::collection::vec(event, 0..6),
        prop::option::of(any::<bool>()),
        prop::option::of((59.0f64..60.0, 17.5f64..18.5)),
    )
        .prop_map(
            |(age, country, tags, events, email_consent, location)| ProfileSpec {
                age,
                country,
                tags,
                events,
                email_consent,
                location,
            },
        )
}

const NOW: &str = "2024-03-31T12:00:00Z";

fn days_from_now(days: i64) -> Timestamp {
    let now: Timestamp = NOW.parse().unwrap();
    Timestamp::from_second(now.as_second() + days * 86_400 + 3_600).unwrap()
}

fn build(specs: &[ProfileSpec], erase_every: usize) -> Audience {
    let mut a = Audience::with_time_zone("Europe/Stockholm").unwrap();
    a.declare_attribute("age", segcore::AttrType::Number)
        .unwrap();
    a.declare_attribute("country", segcore::AttrType::String)
        .unwrap();
    a.declare_attribute("latitude", segcore::AttrType::Number)
        .unwrap();
    a.declare_attribute("longitude", segcore::AttrType::Number)
        .unwrap();
    a.declare_tag_namespace("interest").unwrap();
    for e in ["purchase", "view"] {
        a.declare_event_property(e, "amount", segcore::AttrType::Number)
            .unwrap();
        a.declare_event_property(e, "category", segcore::AttrType::String)
            .unwrap();
    }
    for (i, s) in specs.iter().enumerate() {
        let id = format!("p{i}");
        let mut attrs: Vec<(&str, Value)> = Vec::new();
        if let Some(age) = s.age {
            attrs.push(("age", age.into()));
        }
        if let Some(c) = s.country {
            attrs.push(("country", c.into()));
        }
        if let Some((lat, lon)) = s.location {
            attrs.push(("latitude", lat.into()));
            attrs.push(("longitude", lon.into()));
        }
        a.upsert(&id, attrs).unwrap();
        for (tag, day) in &s.tags {
            a.tag(&id, tag, days_from_now(*day)).unwrap();
        }
        for (name, day, amount, category) in &s.events {
            let mut e = Event::new(*name, days_from_now(*day));
            if let Some(x) = amount {
                e = e.value("amount", *x);
            }
            if let Some(c) = category {
                e = e.property("category", *c);
            }
            a.track(&id, e).unwrap();
        }
        if let Some(granted) = s.email_consent {
            a.set_consent(&id, "email", granted, days_from_now(-100))
                .unwrap();
        }
        if erase_every > 0 && i % erase_every == erase_every - 1 {
            a.erase(&id);
        }
    }
    a
}

fn valid_leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(vec!["<", "<=", "==", "!=", ">", ">="]),
            prop::sample::select(vec![0, 18, 30, 64])
        )
            .prop_map(|(op, n)| format!("age {op} {n}")),
        Just("age between 18 and 30".to_owned()),
        Just("age missing".to_owned()),
        Just("age not in [17, 30.5]".to_owned()),
        prop::sample::select(vec![
            r#"country == "SE""#,
            r#"country != "SE""#,
            r#"country in ["SE", "DK"]"#,
            r#"country starts with "s" ignore case"#,
            r#"country matches "^[A-Z]+$""#,
            "country exists",
        ])
        .prop_map(str::to_owned),
        prop::sample::select(vec![
            r#"tag "vip""#,
            r#"tag "interest:*""#,
            r#"tag "churn" within last 7d"#,
            r#"tag any ["vip", "interest:a"]"#,
            r#"tag all ["interest:a", "interest:b"]"#,
        ])
        .prop_map(str::to_owned),
        (
            prop::sample::select(vec!["purchase", "view"]),
            prop::sample::select(vec![
                "",
                " at least 2 times",
                " exactly 0 times",
                " fewer than 3 times"
            ]),
            prop::sample::select(vec![
                "",
                " in last 7d",
                " in this month",
                " in last calendar month",
                " since 14d ago"
            ]),
            prop::sample::select(vec![
                "",
                r#" where category == "a""#,
                " where amount > 10",
                " where amount missing"
            ]),
        )
            .prop_map(|(e, c, w, f)| format!("did {e}{c}{w}{f}")),
        (
            prop::sample::select(vec!["sum", "avg", "min", "max"]),
            prop::sample::select(vec!["", " in last 30d"]),
            prop::sample::select(vec!["> 20", "<= 10", "missing", "between 0 and 30"]),
        )
            .prop_map(|(f, w, t)| format!("{f}(purchase.amount{w}) {t}")),
        (
            prop::sample::select(vec!["first", "last"]),
            prop::sample::select(vec!["before 7d ago", "within last 30d"])
        )
            .prop_map(|(w, t)| format!("{w}(view) {t}")),
        Just("consent email".to_owned()),
        Just("within 40km of (59.33, 18.07)".to_owned()),
    ]
}

fn valid_predicate() -> impl Strategy<Value = Predicate> {
    valid_leaf()
        .prop_map(|t| Predicate::parse(&t).unwrap())
        .prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Predicate::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Predicate::Or),
                inner.prop_map(|p| Predicate::Not(Box::new(p))),
            ]
        })
}

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
        specs in prop::collection::vec(profile_spec(), 0..12),
        erase_every in 0usize..4,
        a in valid_predicate(),
        b in valid_predicate(),
    ) {
        let audience = build(&specs, erase_every);
        let live: BTreeSet<String> = (0..specs.len())
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
