//! Random audiences (with mutation histories) and random valid predicates over their schema,
//! shared by the property tests.
#![allow(dead_code)]

pub mod corpus;

use jiff::Timestamp;
use proptest::prelude::*;
use segcore::{AttrType, Audience, Event, Predicate, Value};

pub const NOW: &str = "2024-03-31T12:00:00Z";

pub fn now() -> Timestamp {
    NOW.parse().unwrap()
}

pub fn days_from_now(days: i64) -> Timestamp {
    seconds_from_now(days * 86_400 + 3_600)
}

pub fn seconds_from_now(seconds: i64) -> Timestamp {
    Timestamp::from_second(now().as_second() + seconds).unwrap()
}

/// Seconds from `now` of the instants where windows start or end: now itself, 7, 14 and 30 days
/// ago, and the local (Europe/Stockholm) midnights that start this month (a DST-shifted one),
/// this week, today and yesterday.
const BOUNDARIES: &[i64] = &[
    0,
    -7 * 86_400,
    -14 * 86_400,
    -30 * 86_400,
    -2_638_800, // 2024-03-01 00:00 CET
    -565_200,   // Monday 2024-03-25 00:00 CET
    -133_200,   // 2024-03-30 00:00 CET
    -46_800,    // 2024-03-31 00:00 CET, the day clocks spring forward
];

/// An event time: anywhere from 60 days ago to 5 days ahead, or within a few hours of a boundary.
fn event_offset() -> impl Strategy<Value = i64> {
    prop_oneof![
        -60 * 86_400i64..5 * 86_400,
        (pick(BOUNDARIES.to_vec()), -3 * 3_600i64..3 * 3_600).prop_map(|(b, d)| b + d),
        (pick(BOUNDARIES.to_vec()), -2i64..=2).prop_map(|(b, d)| b + d),
    ]
}

#[derive(Debug, Clone)]
pub struct ProfileSpec {
    pub age: Option<f64>,
    pub country: Option<&'static str>,
    pub newsletter: Option<bool>,
    pub interests: Option<Vec<&'static str>>,
    /// Seconds from now.
    pub signed_up: Option<i64>,
    pub tags: Vec<(&'static str, i64)>,
    pub events: Vec<(&'static str, i64, Option<f64>, Option<&'static str>)>,
    pub email_consent: Option<bool>,
    pub location: Option<(f64, f64)>,
}

/// A change applied after the profiles are loaded, to exercise index maintenance.
#[derive(Debug, Clone)]
pub enum Mutation {
    SetAge(usize, f64),
    SetCountry(usize, &'static str),
    UnsetAge(usize),
    UnsetInterests(usize),
    Untag(usize, &'static str),
    Tag(usize, &'static str),
    Consent(usize, bool, i64),
    Erase(usize),
    Recreate(usize, &'static str),
    /// A late event: moves first/last occurrences, lands in a day bucket after others.
    Track(usize, &'static str, i64, f64),
}

fn pick<T: Clone + std::fmt::Debug + 'static>(items: Vec<T>) -> impl Strategy<Value = T> {
    prop::sample::select(items)
}

pub fn profile_spec() -> impl Strategy<Value = ProfileSpec> {
    let event = (
        pick(vec!["purchase", "view"]),
        event_offset(),
        prop::option::of(pick(vec![0.0, 10.0, 25.5, 100.0, -0.0, 1e16, -1e16])),
        prop::option::of(pick(vec!["a", "b", "A"])),
    );
    (
        (
            prop::option::of(pick(vec![17.0, 18.0, 30.0, 30.5, 64.0, 0.0, -0.0])),
            prop::option::of(pick(vec!["SE", "DK", "se", "Sweden"])),
            prop::option::of(any::<bool>()),
            prop::option::of(prop::sample::subsequence(
                vec!["yoga", "Hiking", "tech"],
                0..3,
            )),
            // Seconds from now: whole days (on window and literal edges) or anywhere in a day.
            prop::option::of(prop_oneof![
                (-400i64..10).prop_map(|d| d * 86_400),
                -400 * 86_400i64..10 * 86_400,
                // Within half a day of the leaves' edges, so an edge's day holds values on
                // both sides of it.
                prop::sample::select(vec![-120i64, -90, -30, 0])
                    .prop_flat_map(|d| d * 86_400 - 43_200..d * 86_400 + 43_200),
            ]),
        ),
        prop::sample::subsequence(
            vec!["vip", "interest:a", "interest:b", "churn", "interests:x"],
            0..5,
        )
        .prop_flat_map(|tags| {
            let n = tags.len();
            (Just(tags), prop::collection::vec(-30i64..1, n))
        })
        .prop_map(|(tags, days)| tags.into_iter().zip(days).collect::<Vec<_>>()),
        prop::collection::vec(event, 0..8),
        prop::option::of(any::<bool>()),
        prop::option::of((59.0f64..60.0, 17.5f64..18.5)),
    )
        .prop_map(
            |(
                (age, country, newsletter, interests, signed_up),
                tags,
                events,
                email_consent,
                location,
            )| ProfileSpec {
                age,
                country,
                newsletter,
                interests,
                signed_up,
                tags,
                events,
                email_consent,
                location,
            },
        )
}

pub fn mutation(profiles: usize) -> impl Strategy<Value = Mutation> {
    let i = 0..profiles.max(1);
    prop_oneof![
        (i.clone(), pick(vec![18.0, 30.0, 99.0])).prop_map(|(i, x)| Mutation::SetAge(i, x)),
        (i.clone(), pick(vec!["SE", "DK", "NO"])).prop_map(|(i, c)| Mutation::SetCountry(i, c)),
        i.clone().prop_map(Mutation::UnsetAge),
        i.clone().prop_map(Mutation::UnsetInterests),
        (i.clone(), pick(vec!["vip", "interest:a", "churn"]))
            .prop_map(|(i, t)| Mutation::Untag(i, t)),
        (i.clone(), pick(vec!["vip", "interest:b"])).prop_map(|(i, t)| Mutation::Tag(i, t)),
        (i.clone(), any::<bool>(), -200i64..0).prop_map(|(i, g, d)| Mutation::Consent(i, g, d)),
        i.clone().prop_map(Mutation::Erase),
        (i.clone(), pick(vec!["SE", "DK"])).prop_map(|(i, c)| Mutation::Recreate(i, c)),
        (i, pick(vec!["purchase", "view"]), event_offset(), 0.0..40.0)
            .prop_map(|(i, e, at, x)| Mutation::Track(i, e, at, x)),
    ]
}

pub fn audience_strategy() -> impl Strategy<Value = (Vec<ProfileSpec>, Vec<Mutation>)> {
    prop::collection::vec(profile_spec(), 0..12).prop_flat_map(|specs| {
        let n = specs.len();
        (Just(specs), prop::collection::vec(mutation(n), 0..8))
    })
}

pub fn id(i: usize) -> String {
    format!("p{i}")
}

pub fn build(specs: &[ProfileSpec], mutations: &[Mutation]) -> Audience {
    let mut a = Audience::new();
    populate(&mut a, specs, mutations);
    a
}

/// What `build` writes, into any audience (an empty durable one, say).
pub fn populate(a: &mut Audience, specs: &[ProfileSpec], mutations: &[Mutation]) {
    declare_schema(a);
    for (i, s) in specs.iter().enumerate() {
        let id = id(i);
        let mut attrs: Vec<(&str, Value)> = Vec::new();
        if let Some(age) = s.age {
            attrs.push(("age", age.into()));
        }
        if let Some(c) = s.country {
            attrs.push(("country", c.into()));
        }
        if let Some(b) = s.newsletter {
            attrs.push(("newsletter", b.into()));
        }
        if let Some(items) = &s.interests {
            attrs.push(("interests", Value::from(items.clone())));
        }
        if let Some(d) = s.signed_up {
            attrs.push(("signed_up_at", seconds_from_now(d).into()));
        }
        if let Some((lat, lon)) = s.location {
            attrs.push(("latitude", lat.into()));
            attrs.push(("longitude", lon.into()));
        }
        a.upsert(&id, attrs).unwrap();
        for (tag, day) in &s.tags {
            a.tag(&id, tag, days_from_now(*day)).unwrap();
        }
        for (name, offset, amount, category) in &s.events {
            let mut e = Event::new(*name, seconds_from_now(*offset));
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
    }
    for m in mutations {
        apply_mutation(a, m);
    }
    define_segments(a);
}

/// The zone and the declarations every generated audience has.
pub fn declare_schema(a: &mut Audience) {
    a.set_time_zone("Europe/Stockholm").unwrap();
    a.declare_attribute("age", AttrType::Number).unwrap();
    a.declare_attribute("country", AttrType::String).unwrap();
    a.declare_attribute("newsletter", AttrType::Bool).unwrap();
    a.declare_attribute("interests", AttrType::List).unwrap();
    a.declare_attribute("signed_up_at", AttrType::Timestamp)
        .unwrap();
    a.declare_attribute("latitude", AttrType::Number).unwrap();
    a.declare_attribute("longitude", AttrType::Number).unwrap();
    a.declare_tag_namespace("interest").unwrap();
    for e in ["purchase", "view"] {
        a.declare_event_property(e, "amount", AttrType::Number)
            .unwrap();
        a.declare_event_property(e, "category", AttrType::String)
            .unwrap();
    }
}

/// The segments every generated audience defines (the predicates refer to them).
pub fn define_segments(a: &mut Audience) {
    for (name, text) in [
        ("adults", "age >= 18"),
        ("engaged", r#"did view in last 30d or tag "vip""#),
        ("engaged_adults", "segment adults and segment engaged"),
    ] {
        let p = a.predicate(text).unwrap();
        a.define_segment(name, p).unwrap();
    }
}

/// Applies one mutation; mutations of erased profiles fail with unknown_name or recreate them,
/// and both are fine, so the result is dropped.
pub fn apply_mutation(a: &mut Audience, m: &Mutation) {
    // Mutations of erased profiles fail with unknown_name or recreate them; both are fine.
    let _ = match m {
        Mutation::SetAge(i, x) => a.upsert(&id(*i), [("age", Value::from(*x))]).map(|_| ()),
        Mutation::SetCountry(i, c) => a
            .upsert(&id(*i), [("country", Value::from(*c))])
            .map(|_| ()),
        Mutation::UnsetAge(i) => a.unset(&id(*i), "age").map(|_| ()),
        Mutation::UnsetInterests(i) => a.unset(&id(*i), "interests").map(|_| ()),
        Mutation::Untag(i, t) => a.untag(&id(*i), t).map(|_| ()),
        Mutation::Tag(i, t) => a.tag(&id(*i), t, days_from_now(-1)),
        Mutation::Consent(i, g, d) => a.set_consent(&id(*i), "email", *g, days_from_now(*d)),
        Mutation::Erase(i) => {
            a.erase(&id(*i)).unwrap();
            Ok(())
        }
        Mutation::Recreate(i, c) => a
            .upsert(&id(*i), [("country", Value::from(*c))])
            .map(|_| ()),
        Mutation::Track(i, e, at, x) => a.track(
            &id(*i),
            Event::new(*e, seconds_from_now(*at)).value("amount", *x),
        ),
    };
}

/// The parts the `did` leaves are built from: counts, every kind of window, property filters.
pub const EVENT_COUNTS: &[&str] = &[
    "",
    "",
    " at least 2 times",
    " more than 1 times",
    " at most 1 times",
    " exactly 0 times",
    " fewer than 3 times",
    " other than 1 times",
];
pub const EVENT_WINDOWS: &[&str] = &[
    "",
    " in last 7d",
    " in last 14d",
    " in last 30d",
    " in this month",
    " in this week",
    " in last calendar day",
    " in last calendar month",
    " since 14d ago",
    " between 30d ago and 7d ago",
];
pub const EVENT_FILTERS: &[&str] = &[
    "",
    "",
    r#" where category == "a""#,
    " where amount > 10",
    " where amount missing",
];

/// `did` conditions: counts, every kind of window, property filters.
pub fn event_leaf() -> impl Strategy<Value = String> {
    (
        pick(vec!["purchase", "view"]),
        pick(EVENT_COUNTS.to_vec()),
        pick(EVENT_WINDOWS.to_vec()),
        pick(EVENT_FILTERS.to_vec()),
    )
        .prop_map(|(e, c, w, f)| format!("did {e}{c}{w}{f}"))
}

/// The parts the aggregate leaves are built from.
pub const AGGREGATE_FUNCS: &[&str] = &["sum", "avg", "min", "max"];
pub const AGGREGATE_WINDOWS: &[&str] = &[
    "",
    " in last 30d",
    " in last 7d",
    " in this month",
    " between 30d ago and 7d ago",
];
pub const AGGREGATE_FILTERS: &[&str] = &["", r#" where category == "a""#];
pub const AGGREGATE_TESTS: &[&str] = &[
    "> 20",
    "<= 10",
    "missing",
    "between 0 and 30",
    "== 0",
    "< 5",
];

/// Aggregates of event values, with and without windows and filters.
pub fn aggregate_leaf() -> impl Strategy<Value = String> {
    (
        pick(AGGREGATE_FUNCS.to_vec()),
        pick(AGGREGATE_WINDOWS.to_vec()),
        pick(AGGREGATE_FILTERS.to_vec()),
        pick(AGGREGATE_TESTS.to_vec()),
    )
        .prop_map(|(f, w, c, t)| format!("{f}(purchase.amount{w}{c}) {t}"))
}

/// First and last occurrences.
pub fn occurrence_leaf() -> impl Strategy<Value = String> {
    (
        pick(vec!["first", "last"]),
        pick(vec!["view", "purchase"]),
        pick(vec!["", "", r#" where category == "a""#]),
        pick(vec![
            "before 7d ago",
            "after 2d ago",
            "within last 30d",
            "within this week",
            "within last calendar day",
            "between 20d ago and 1d ago",
            "== 3d ago",
            "!= 3d ago",
            "missing",
            "exists",
        ]),
    )
        .prop_map(|(w, e, c, t)| format!("{w}({e}{c}) {t}"))
}

pub fn valid_leaf() -> impl Strategy<Value = String> {
    let s = |v: Vec<&'static str>| pick(v).prop_map(str::to_owned);
    prop_oneof![
        (
            pick(vec!["<", "<=", "==", "!=", ">", ">="]),
            pick(vec!["0", "18", "30", "30.5", "-0", "64"])
        )
            .prop_map(|(op, n)| format!("age {op} {n}")),
        s(vec![
            "age between 18 and 30",
            "age between 30 and 18",
            "age missing",
            "age exists",
            "age in [17, 30.5, 0]",
            "age not in [17, 30.5]",
            "age not in []",
        ]),
        s(vec![
            r#"country == "SE""#,
            r#"country != "SE""#,
            r#"country in ["SE", "DK"]"#,
            r#"country not in ["SE", "se"]"#,
            r#"country starts with "s" ignore case"#,
            r#"country ends with "en""#,
            r#"country contains "E""#,
            r#"country contains "e" ignore case"#,
            r#"country matches "^[A-Z]+$""#,
            "country exists",
            "country missing",
        ]),
        s(vec![
            "newsletter == true",
            "newsletter != true",
            "newsletter in [false]",
            "newsletter not in [true]",
            "newsletter missing",
        ]),
        s(vec![
            r#"interests contains "yoga""#,
            r#"interests contains "hiking" ignore case"#,
            r#"interests contains any ["yoga", "tech"]"#,
            r#"interests contains all ["yoga", "tech"]"#,
            "interests contains all []",
            "interests contains any []",
            "interests missing",
        ]),
        s(vec![
            "signed_up_at within last 30d",
            "signed_up_at before 90d ago",
            "signed_up_at after 30d ago",
            "signed_up_at <= 90d ago",
            "signed_up_at between 120d ago and 90d ago",
            "signed_up_at != 90d ago",
            "signed_up_at within this month",
            "signed_up_at missing",
        ]),
        s(vec![
            r#"tag "vip""#,
            r#"tag "interest:*""#,
            r#"tag "churn" within last 7d"#,
            r#"tag "interest:*" within last 7d"#,
            r#"tag any ["vip", "interest:a"]"#,
            r#"tag all ["interest:a", "interest:b"]"#,
            r#"tag all ["vip", "interest:*"]"#,
            "tag all []",
            "tag any []",
        ]),
        event_leaf(),
        aggregate_leaf(),
        occurrence_leaf(),
        s(vec!["consent email", "consent sms"]),
        s(vec![
            "within 40km of (59.33, 18.07)",
            "within 10mi of (59.5, 18.0)"
        ]),
        s(vec!["segment adults", "segment engaged_adults"]),
    ]
}

pub fn valid_predicate() -> impl Strategy<Value = Predicate> {
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
