//! The Audience: writes, the schema, erasure, read-back, the catalog and the queries.

use jiff::Timestamp;
use segcore::{AttrType, Audience, Error, Event, NameKind, Predicate, Value};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2024-06-15T12:00:00Z";

fn now() -> Timestamp {
    t(NOW)
}

#[test]
fn the_schema_is_inferred_on_first_write_and_enforced_after() {
    let mut a = Audience::new();
    a.upsert("ada", [("age", Value::Number(36.0))]).unwrap();
    assert_eq!(a.schema().attribute("age"), Some(AttrType::Number));
    let e = a.upsert("bob", [("age", Value::from("old"))]).unwrap_err();
    assert_eq!(
        e,
        Error::Schema {
            field: "age".into(),
            expected: AttrType::Number,
            found: AttrType::String
        }
    );
    assert_eq!(e.to_string(), "`age` is a number, but a string was given");
    assert!(a.slot("bob").is_none(), "a refused write creates nothing");
}

#[test]
fn a_refused_write_changes_nothing() {
    let mut a = Audience::new();
    a.upsert(
        "ada",
        [("age", Value::Number(36.0)), ("country", "SE".into())],
    )
    .unwrap();
    let e = a
        .upsert(
            "ada",
            [("country", Value::from("DK")), ("age", Value::from("x"))],
        )
        .unwrap_err();
    assert_eq!(e.kind(), "schema");
    assert_eq!(
        a.profile("ada").unwrap().attributes["country"],
        Value::from("SE")
    );

    let e = a
        .upsert("ada", [("score", Value::Number(f64::NAN))])
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_value");
    assert_eq!(a.schema().attribute("score"), None);

    let e = a
        .upsert("ada", [("z", Value::from(1)), ("z", Value::from("one"))])
        .unwrap_err();
    assert_eq!(e.kind(), "schema");
    assert_eq!(a.schema().attribute("z"), None);

    let bad = Event::new("purchase", now())
        .value("amount", 1.0)
        .property("ok", true);
    assert_eq!(a.track("ada", bad).unwrap_err().kind(), "invalid_value");
    assert!(!a.schema().has_event("purchase"));
    let twice = Event::new("purchase", now())
        .value("amount", 1.0)
        .value("amount", 2.0);
    assert_eq!(a.track("ada", twice).unwrap_err().kind(), "invalid_value");
    let crowded = (0..=segcore::MAX_EVENT_PROPERTIES)
        .fold(Event::new("purchase", now()), |e, i| {
            e.value(format!("k{i}"), 1.0)
        });
    assert_eq!(a.track("ada", crowded).unwrap_err().kind(), "invalid_value");
    assert!(a.profile("ada").unwrap().events.is_empty());
    let full = (0..segcore::MAX_EVENT_PROPERTIES).fold(Event::new("purchase", now()), |e, i| {
        e.value(format!("k{i}"), i as f64)
    });
    a.track("ada", full).unwrap();
    let stored = &a.profile("ada").unwrap().events[0];
    assert_eq!(stored.properties.len(), segcore::MAX_EVENT_PROPERTIES);
    assert!(stored
        .properties
        .contains(&("k7".to_owned(), Value::Number(7.0))));
}

#[test]
fn declared_types_hold_before_any_write() {
    let mut a = Audience::new();
    a.declare_attribute("signed_up_at", AttrType::Timestamp)
        .unwrap();
    a.declare_event("purchase").unwrap();
    a.declare_event_property("purchase", "amount", AttrType::Number)
        .unwrap();
    let p = a
        .predicate("signed_up_at within last 7d or sum(purchase.amount) > 1")
        .unwrap();
    assert_eq!(a.count(&p, now()).unwrap(), 0);
    let e = a
        .upsert("x", [("signed_up_at", Value::from("yesterday"))])
        .unwrap_err();
    assert_eq!(e.kind(), "schema");
    assert_eq!(
        a.declare_attribute("signed_up_at", AttrType::Number)
            .unwrap_err()
            .kind(),
        "schema"
    );
}

#[test]
fn profiles_read_back_what_was_written() {
    let mut a = Audience::new();
    a.upsert(
        "ada",
        [
            ("name", Value::from("Ada")),
            ("interests", Value::from(vec!["yoga", "hiking"])),
            ("vip", Value::from(true)),
            ("since", Value::from(t("2020-01-01T00:00:00Z"))),
        ],
    )
    .unwrap();
    a.tag("ada", "interest:outdoor", t("2024-01-01T00:00:00Z"))
        .unwrap();
    a.track(
        "ada",
        Event::new("purchase", t("2024-02-01T00:00:00Z"))
            .value("amount", 10.0)
            .property("sku", "A1"),
    )
    .unwrap();
    a.set_consent("ada", "email", true, t("2024-01-01T00:00:00Z"))
        .unwrap();
    let p = a.profile("ada").unwrap();
    assert_eq!(p.id, "ada");
    assert_eq!(p.slot, 0);
    assert_eq!(p.attributes.len(), 4);
    assert_eq!(
        p.attributes["interests"],
        Value::List(vec!["yoga".into(), "hiking".into()])
    );
    assert_eq!(p.tags["interest:outdoor"], t("2024-01-01T00:00:00Z"));
    assert_eq!(p.events.len(), 1);
    assert_eq!(
        p.events[0].properties,
        vec![
            ("amount".to_owned(), Value::Number(10.0)),
            ("sku".to_owned(), Value::from("A1"))
        ]
    );
    assert!(p.consent["email"].granted);
    assert!(a.schema().has_tag_namespace("interest"));
    assert!(a.unset("ada", "vip").unwrap());
    assert!(!a.unset("ada", "vip").unwrap());
    assert!(!a.profile("ada").unwrap().attributes.contains_key("vip"));
}

#[test]
fn events_are_kept_in_time_order_whatever_order_they_arrive_in() {
    let mut a = Audience::new();
    for (day, n) in [(5, 1.0), (1, 2.0), (3, 3.0), (1, 4.0)] {
        let at = t(&format!("2024-01-0{day}T00:00:00Z"));
        a.track("ada", Event::new("view", at).value("n", n))
            .unwrap();
    }
    let ns: Vec<f64> = a
        .profile("ada")
        .unwrap()
        .events
        .iter()
        .map(|e| match e.properties[0].1 {
            Value::Number(n) => n,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        ns,
        [2.0, 4.0, 3.0, 1.0],
        "sorted by time, ties in arrival order"
    );
}

#[test]
fn retagging_keeps_the_first_time_and_untagging_resets_it() {
    let mut a = Audience::new();
    a.tag("ada", "vip", t("2024-06-01T00:00:00Z")).unwrap();
    a.tag("ada", "vip", t("2024-06-14T00:00:00Z")).unwrap();
    let recent = a.predicate(r#"tag "vip" within last 7d"#).unwrap();
    assert_eq!(a.count(&recent, now()).unwrap(), 0);
    assert!(a.untag("ada", "vip").unwrap());
    assert!(!a.untag("ada", "vip").unwrap());
    a.tag("ada", "vip", t("2024-06-14T00:00:00Z")).unwrap();
    assert_eq!(a.count(&recent, now()).unwrap(), 1);
}

#[test]
fn tags_are_checked() {
    let mut a = Audience::new();
    for bad in ["", "a*", "interest:*", ":x", "x:"] {
        assert_eq!(
            a.tag("ada", bad, now()).unwrap_err().kind(),
            "invalid_value",
            "{bad:?}"
        );
    }
    assert!(a.is_empty());
}

#[test]
fn consent_keeps_the_latest_decision_by_time() {
    let mut a = Audience::new();
    a.set_consent("ada", "email", true, t("2024-03-01T00:00:00Z"))
        .unwrap();
    a.set_consent("ada", "email", false, t("2024-02-01T00:00:00Z"))
        .unwrap();
    assert!(a.profile("ada").unwrap().consent["email"].granted);
    a.set_consent("ada", "email", false, t("2024-04-01T00:00:00Z"))
        .unwrap();
    assert!(!a.profile("ada").unwrap().consent["email"].granted);
    a.set_consent("ada", "whatsapp", true, now()).unwrap();
    assert!(a.schema().has_channel("whatsapp"));
}

#[test]
fn an_erased_profile_is_gone() {
    let mut a = Audience::new();
    a.upsert("ada", [("country", Value::from("SE"))]).unwrap();
    a.upsert("bob", [("country", Value::from("SE"))]).unwrap();
    a.tag("ada", "vip", now()).unwrap();
    a.track("ada", Event::new("purchase", now())).unwrap();
    assert!(a.erase("ada").unwrap());
    assert!(!a.erase("ada").unwrap());
    assert_eq!(a.len(), 1);
    assert!(a.profile("ada").is_none());
    let se = a.predicate(r#"country == "SE""#).unwrap();
    assert_eq!(a.members(&se, now()).unwrap(), ["bob"]);
    let everyone = a.predicate(r#"not country == "nowhere""#).unwrap();
    assert_eq!(a.members(&everyone, now()).unwrap(), ["bob"]);
    assert_eq!(
        a.matches("ada", &se, now()).unwrap_err(),
        Error::UnknownName {
            kind: NameKind::Profile,
            name: "ada".into(),
            suggestion: None
        }
    );
    // The same id later starts afresh, in a new slot, with nothing of the old profile.
    a.upsert("ada", [("country", Value::from("DK"))]).unwrap();
    let p = a.profile("ada").unwrap();
    assert_eq!(p.slot, 2);
    assert!(p.tags.is_empty() && p.events.is_empty());
    assert_eq!(a.members(&se, now()).unwrap(), ["bob"]);
}

#[test]
fn empty_names_are_refused() {
    let mut a = Audience::new();
    assert_eq!(
        a.upsert("", [("x", Value::from(1))]).unwrap_err().kind(),
        "invalid_value"
    );
    assert_eq!(
        a.upsert("a", [("", Value::from(1))]).unwrap_err().kind(),
        "invalid_value"
    );
    assert_eq!(
        a.track("a", Event::new("", now())).unwrap_err().kind(),
        "invalid_value"
    );
    assert_eq!(
        a.define_segment("", Predicate::tag("x"))
            .unwrap_err()
            .kind(),
        "invalid_value"
    );
    assert!(a.is_empty());
}

#[test]
fn time_zones_are_checked_and_suggested() {
    let e = Audience::with_time_zone("Europe/Stokholm").unwrap_err();
    assert_eq!(
        e,
        Error::UnknownName {
            kind: NameKind::TimeZone,
            name: "Europe/Stokholm".into(),
            suggestion: Some("Europe/Stockholm".into())
        }
    );
    assert_eq!(Audience::new().time_zone(), "UTC");
}

fn shop() -> Audience {
    let mut a = Audience::new();
    a.upsert(
        "ada",
        [("country", Value::from("SE")), ("age", Value::from(36))],
    )
    .unwrap();
    a.upsert(
        "bob",
        [("country", Value::from("DK")), ("age", Value::from(19))],
    )
    .unwrap();
    a.tag("ada", "vip", now()).unwrap();
    a.track("bob", Event::new("purchase", now()).value("amount", 5.0))
        .unwrap();
    a
}

#[test]
fn the_catalog_defines_replaces_and_removes() {
    let mut a = shop();
    let swedes = a.predicate(r#"country == "SE""#).unwrap();
    a.define_segment("swedes", swedes).unwrap();
    a.define_segment(
        "vip_swedes",
        a.predicate(r#"segment swedes and tag "vip""#).unwrap(),
    )
    .unwrap();
    assert_eq!(
        a.members(&Predicate::segment("vip_swedes"), now()).unwrap(),
        ["ada"]
    );
    // Replacing a segment changes what refers to it.
    a.define_segment("swedes", a.predicate(r#"country == "DK""#).unwrap())
        .unwrap();
    assert!(a
        .members(&Predicate::segment("vip_swedes"), now())
        .unwrap()
        .is_empty());
    // A cycle is refused and names itself; nothing changes.
    let e = a
        .define_segment("swedes", a.predicate("segment vip_swedes").unwrap())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "segment reference cycle: swedes -> vip_swedes -> swedes"
    );
    assert_eq!(
        a.catalog().get("swedes").unwrap().to_string(),
        r#"country == "DK""#
    );
    // Removing a segment in use is refused; removing the user first works.
    let e = a.remove_segment("swedes").unwrap_err();
    assert_eq!(e.to_string(), "segment `swedes` is used by vip_swedes");
    a.remove_segment("vip_swedes").unwrap();
    a.remove_segment("swedes").unwrap();
    assert!(a.catalog().is_empty());
    let e = a.remove_segment("swedes").unwrap_err();
    assert_eq!(e.kind(), "unknown_name");
}

#[test]
fn an_invalid_definition_is_refused() {
    let mut a = shop();
    let e = a
        .define_segment("x", Predicate::parse("segment nope").unwrap())
        .unwrap_err();
    assert_eq!(e.kind(), "unknown_name");
    let e = a
        .define_segment("x", Predicate::parse(r#"age == "old""#).unwrap())
        .unwrap_err();
    assert_eq!(e.kind(), "type");
    assert!(a.catalog().is_empty());
}

#[test]
fn segments_of_lists_every_matching_segment() {
    let mut a = shop();
    for (name, text) in [
        ("buyers", "did purchase"),
        ("swedes", r#"country == "SE""#),
        ("vips", r#"tag "vip""#),
        ("adults", "age >= 18"),
    ] {
        a.define_segment(name, a.predicate(text).unwrap()).unwrap();
    }
    assert_eq!(
        a.segments_of("ada", now()).unwrap(),
        ["adults", "swedes", "vips"]
    );
    assert_eq!(a.segments_of("bob", now()).unwrap(), ["adults", "buyers"]);
    assert_eq!(
        a.segments_of("nobody", now()).unwrap_err().kind(),
        "unknown_name"
    );
}

#[test]
fn queries_validate_first() {
    let a = shop();
    let p = Predicate::parse("did purchse").unwrap();
    let e = a.count(&p, now()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown event `purchse` (did you mean `purchase`?)"
    );
    assert_eq!(a.members(&p, now()).unwrap_err().kind(), "unknown_name");
    assert_eq!(
        a.matches("ada", &p, now()).unwrap_err().kind(),
        "unknown_name"
    );
    let hand_built = Predicate::And(vec![Predicate::tag("vip")]);
    assert_eq!(
        a.count(&hand_built, now()).unwrap_err().kind(),
        "invalid_value"
    );
    let mut deep = Predicate::tag("vip");
    for _ in 0..100 {
        deep = deep.not();
    }
    assert_eq!(a.count(&deep, now()).unwrap_err().kind(), "too_deep");
}

#[test]
fn type_errors_explain_themselves() {
    let mut a = shop();
    a.upsert("ada", [("interests", Value::from(vec!["yoga"]))])
        .unwrap();
    let cases = [
        (
            "age == \"36\"",
            "attribute `age` is a number and cannot be compared with a string (\"36\")",
        ),
        (
            "country < \"M\"",
            "attribute `country` is a string; `<` needs a number or a timestamp",
        ),
        (
            "age within last 7d",
            "attribute `age` is a number; `within` needs a timestamp",
        ),
        (
            "interests == \"yoga\"",
            "attribute `interests` is a list; use `contains`, `contains any` or `contains all`",
        ),
        (
            "age contains \"3\"",
            "attribute `age` is a number; `contains` needs a string or a list",
        ),
        (
            "country contains any [\"S\"]",
            "attribute `country` is a string; `contains any` and `contains all` need a list",
        ),
        (
            "age > 30d ago",
            "attribute `age` is a number and cannot be compared with a timestamp (30d ago)",
        ),
    ];
    for (text, message) in cases {
        let e = a.predicate(text).unwrap_err();
        assert_eq!(e, Error::Type(message.into()), "{text}");
    }
    a.upsert("ada", [("latitude", Value::from("north"))])
        .unwrap();
    a.upsert("ada", [("longitude", Value::from(1.0))]).unwrap();
    assert_eq!(
        a.predicate("within 5km of (0, 0)").unwrap_err().kind(),
        "type"
    );
}

#[test]
fn value_errors_explain_themselves() {
    let mut a = shop();
    a.upsert(
        "ada",
        [
            ("latitude", Value::from(1.0)),
            ("longitude", Value::from(1.0)),
        ],
    )
    .unwrap();
    for text in [
        "within 5km of (91, 0)",
        "within 5km of (0, 181)",
        "within -5km of (0, 0)",
        r#"country matches "[""#,
        r#"tag "a*b""#,
        r#"tag ":x""#,
    ] {
        assert_eq!(
            a.predicate(text).unwrap_err().kind(),
            "invalid_value",
            "{text}"
        );
    }
}

#[test]
fn a_tagged_upsert_is_one_write() {
    let mut a = Audience::new();
    let tags = ["vip".to_owned(), "interest:run".to_owned()];
    a.upsert_tagged("ada", [("age", Value::from(30))], &tags, now())
        .unwrap();
    let ada = a.profile("ada").unwrap();
    assert_eq!(ada.tags.len(), 2);
    assert!(a.schema().has_tag_namespace("interest"));
    let bad = ["ok".to_owned(), "bad*".to_owned()];
    let e = a
        .upsert_tagged("bob", [("age", Value::from(40))], &bad, now())
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_value");
    assert!(a.profile("bob").is_none());
    let e = a
        .upsert_tagged("bob", [("age", Value::from("x"))], &tags, now())
        .unwrap_err();
    assert_eq!(e.kind(), "schema");
    assert!(a.profile("bob").is_none());
}
