//! The text and JSON forms: every construct parses, prints canonically, and round-trips;
//! malformed input gets a positioned, typed error and never a panic.

use segcore::language::{
    AggFunc, CalendarUnit, CmpOp, CountTest, Duration, Filter, Literal, Test, TimeRef, Window,
};
use segcore::{Error, Predicate};

/// Canonical texts: each must print back exactly as written.
const CANONICAL: &[&str] = &[
    r#"country == "SE""#,
    r#"country != "SE""#,
    "age < 30",
    "age <= 30",
    "age > 30.5",
    "age >= -2",
    "age between 18 and 30",
    r#"country in ["SE", "DK"]"#,
    r#"country not in ["SE"]"#,
    "country in []",
    "email exists",
    "email missing",
    r#"email contains "@gmail""#,
    r#"email contains "@GMAIL" ignore case"#,
    r#"name starts with "An""#,
    r#"name ends with "son" ignore case"#,
    r#"email matches "^[a-z]+@example\\.com$""#,
    r#"interests contains "hiking""#,
    r#"interests contains any ["hiking", "yoga"]"#,
    r#"interests contains all ["hiking", "yoga"]"#,
    "newsletter == true",
    "newsletter != false",
    "signed_up_at within last 30d",
    "signed_up_at before 90d ago",
    "signed_up_at after 2w ago",
    "signed_up_at >= @2024-01-01",
    "signed_up_at <= @2024-01-01T09:30:00",
    "signed_up_at == @2024-01-01T09:30:00Z",
    "signed_up_at between @2024-01-01 and @2024-02-01",
    "signed_up_at within this month",
    "signed_up_at within last calendar month",
    "signed_up_at within last 3 calendar quarters",
    "signed_up_at within since 7d ago",
    "signed_up_at within between 60d ago and 30d ago",
    "renews_at before 30d from now",
    "renews_at after now",
    r#"tag "vip""#,
    r#"tag "interest:*""#,
    r#"tag "vip" within last 7d"#,
    r#"tag "interest:*" within this week"#,
    r#"tag any ["vip", "interest:outdoor"]"#,
    r#"tag all ["vip", "quiz:*"]"#,
    "did purchase",
    "did purchase in last 30d",
    "did purchase at least 2 times in last 30d",
    "did purchase at most 2 times",
    "did purchase exactly 0 times",
    "did purchase more than 3 times",
    "did purchase fewer than 3 times",
    "did purchase other than 1 times",
    "did purchase in this month",
    "did purchase in last calendar month",
    "did purchase in last 2 calendar years",
    "did purchase between @2024-01-01 and @2024-02-01",
    "did purchase since @2024-01-01",
    r#"did purchase where category == "shoes""#,
    r#"did purchase at least 2 times in last 30d where (category == "shoes" and amount > 100)"#,
    r#"did purchase where category in ["shoes", "boots"]"#,
    "sum(purchase.amount in last 365d) > 500",
    "avg(purchase.amount) >= 100",
    "min(purchase.amount) < 10",
    r#"max(purchase.amount where category == "shoes") between 100 and 200"#,
    "sum(purchase.amount between 60d ago and 30d ago) == 0",
    "last(purchase) before 90d ago",
    "first(page_view) within last 7d",
    r#"last(purchase where category == "shoes") after 30d ago"#,
    "within 50km of (59.33, 18.07)",
    "within 10mi of (40.7128, -74.006)",
    "within 2.5km of (0, 0) using home_lat, home_lon",
    "consent email",
    "segment vip_buyers",
    "segment `vip buyers`",
    "not tag \"vip\"",
    "not not tag \"vip\"",
    r#"tag "a" and tag "b" and tag "c""#,
    r#"tag "a" or tag "b" and tag "c""#,
    r#"(tag "a" or tag "b") and tag "c""#,
    r#"not (tag "a" or tag "b")"#,
    r#"(tag "a" and tag "b") and tag "c""#,
    r#"tag "a" or (tag "b" or tag "c")"#,
    "`first name` == \"Ada\"",
    "`and` exists",
    "`tick``tock` exists",
    r#"note == "line\nbreak \"quoted\" back\\slash""#,
];

#[test]
fn canonical_text_prints_back_unchanged() {
    for text in CANONICAL {
        let p = Predicate::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&p.to_string(), text, "printing {p:?}");
    }
}

#[test]
fn every_canonical_form_round_trips_through_json() {
    for text in CANONICAL {
        let p = Predicate::parse(text).unwrap();
        let json = p.to_json();
        let back = Predicate::from_json(&json).unwrap_or_else(|e| panic!("{text} / {json}: {e}"));
        assert_eq!(back, p, "{json}");
    }
}

#[test]
fn the_flavour_example_from_the_brief_parses() {
    let text = r#"
      country in ["SE", "DK"] and tag "vip"
        and did purchase at least 2 times in last 30d where category == "shoes"
        and sum(purchase.amount in last 365d) > 500
        and not did email_open in last 60d
        and within 50km of (59.33, 18.07)
        and consent email
    "#;
    let p = Predicate::parse(text).unwrap();
    let Predicate::And(parts) = &p else {
        panic!("{p:?}")
    };
    assert_eq!(parts.len(), 7);
    assert_eq!(
        parts[2],
        Predicate::Event {
            event: "purchase".into(),
            count: Some(CountTest {
                op: CmpOp::Ge,
                times: 2
            }),
            window: Some(Window::Last(Duration::days(30))),
            filter: vec![Filter {
                key: "category".into(),
                test: Test::eq("shoes"),
            }],
        }
    );
    assert_eq!(
        parts[3],
        Predicate::Aggregate {
            func: AggFunc::Sum,
            event: "purchase".into(),
            value: "amount".into(),
            window: Some(Window::Last(Duration::days(365))),
            filter: vec![],
            test: Test::cmp(CmpOp::Gt, 500.0),
        }
    );
    assert_eq!(parts[4], Predicate::did("email_open").not().tap_window(60));
    assert_eq!(Predicate::parse(&p.to_string()).unwrap(), p);
}

trait TapWindow {
    fn tap_window(self, days: u32) -> Self;
}

impl TapWindow for Predicate {
    /// Sets the window of the event inside `not did …`.
    fn tap_window(self, days: u32) -> Self {
        match self {
            Predicate::Not(inner) => match *inner {
                Predicate::Event {
                    event,
                    count,
                    filter,
                    ..
                } => Predicate::Not(Box::new(Predicate::Event {
                    event,
                    count,
                    window: Some(Window::Last(Duration::days(days))),
                    filter,
                })),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn aliases_parse_to_the_canonical_ast() {
    let same = [
        ("did not purchase", "not did purchase"),
        ("did purchase within last 30d", "did purchase in last 30d"),
        ("signed_up_at in last 30d", "signed_up_at within last 30d"),
        ("signed_up_at < 90d ago", "signed_up_at before 90d ago"),
        ("signed_up_at > 90d ago", "signed_up_at after 90d ago"),
        (
            "did purchase at least 1 time",
            "did purchase at least 1 times",
        ),
        ("within 5 km of (1, 2)", "within 5km of (1, 2)"),
        ("tag \"vip\" in last 7d", "tag \"vip\" within last 7d"),
        ("age >= 1e2", "age >= 100"),
        ("# a comment\nage > 1 # another\n", "age > 1"),
        ("((age > 1))", "age > 1"),
        ("`age` > 1", "age > 1"),
        (
            "country in [\"SE\", \"DK\",]",
            "country in [\"SE\", \"DK\"]",
        ),
    ];
    for (alias, canonical) in same {
        assert_eq!(
            Predicate::parse(alias).unwrap(),
            Predicate::parse(canonical).unwrap(),
            "{alias}"
        );
    }
}

#[test]
fn time_literals_keep_their_kind() {
    let p = Predicate::parse("t == @2024-03-31T02:30:00").unwrap();
    let Predicate::Attribute {
        test:
            Test::Cmp {
                value: Literal::Time(TimeRef::At(lit)),
                ..
            },
        ..
    } = p
    else {
        panic!()
    };
    assert_eq!(lit.to_string(), "2024-03-31T02:30:00");
}

#[test]
fn calendar_windows_parse() {
    let p = Predicate::parse("did x in last 3 calendar weeks").unwrap();
    let Predicate::Event { window, .. } = p else {
        panic!()
    };
    assert_eq!(
        window,
        Some(Window::LastCalendar {
            unit: CalendarUnit::Week,
            count: 3
        })
    );
}

fn parse_error(text: &str) -> segcore::ParseError {
    match Predicate::parse(text) {
        Err(Error::Parse(e)) => e,
        other => panic!("{text}: expected a parse error, got {other:?}"),
    }
}

#[test]
fn parse_errors_say_where_what_was_found_and_what_was_expected() {
    let e = parse_error("age >");
    assert_eq!((e.line, e.column, e.span.clone()), (1, 6, 5..5));
    assert_eq!(e.found, "end of input");
    assert!(e.expected.contains("a value"), "{}", e.expected);

    let e = parse_error("country == \"SE\"\n  and age = 3");
    assert_eq!((e.line, e.column), (2, 11));
    assert!(e.expected.contains("=="), "{}", e.expected);

    let e = parse_error("did purchase at least two times");
    assert_eq!(e.found, "`two`");
    assert!(e.expected.contains("whole number"));

    let e = parse_error("tag vip");
    assert_eq!(e.found, "`vip`");
    assert!(e.expected.contains("double quotes"));

    let e = parse_error("age > 1 tag \"x\"");
    assert!(e.expected.contains("`and`, `or`"), "{}", e.expected);

    let e = parse_error("did purchase in last 30");
    assert!(e.expected.contains("calendar"), "{}", e.expected);

    let e = parse_error("did purchase in last 3mo");
    assert!(e.expected.contains("duration"), "{}", e.expected);

    let e = parse_error("signed_up_at > @2024-13-01");
    assert!(e.expected.contains("date"), "{}", e.expected);

    let e = parse_error("(age > 1");
    assert!(e.expected.contains("`)`"));

    let e = parse_error("");
    assert!(e.expected.starts_with("a condition"));

    let e = parse_error("and");
    assert_eq!(e.found, "`and`");

    let e = parse_error("café ~ 1");
    assert_eq!((e.line, e.column), (1, 4), "columns count characters");

    let e = parse_error("within 50 furlongs of (1, 2)");
    assert!(e.expected.contains("km"));

    let e = parse_error("x == \"unterminated");
    assert!(e.expected.contains("closing"));

    let e = parse_error("age > 1e999");
    assert_eq!((e.column, e.expected.as_str()), (7, "a finite number"));
    assert_eq!(e.found, "`1e999`");

    let e = parse_error("did purchase in last 0 calendar months");
    assert!(e.expected.contains("at least 1"));
}

#[test]
fn ten_thousand_nested_parentheses_are_an_error_not_a_crash() {
    let deep = format!("{}tag \"x\"{}", "(".repeat(10_000), ")".repeat(10_000));
    let e = parse_error(&deep);
    assert!(e.expected.contains("nested"), "{}", e.expected);
    assert_eq!(e.column, segcore::language::MAX_DEPTH + 1);

    let nots = format!("{}tag \"x\"", "not ".repeat(10_000));
    let e = parse_error(&nots);
    assert!(e.expected.contains("nested"));

    // Within the limit is fine.
    let ok = format!("{}tag \"x\"{}", "(".repeat(40), ")".repeat(40));
    assert!(Predicate::parse(&ok).is_ok());
}

#[test]
fn invalid_json_is_a_typed_error_with_position() {
    for bad in [
        "",
        "{",
        "[1, 2]",
        r#"{"tag": {"tag": "vip", "extra": 1}}"#,
        r#"{"attribute": {"name": "age", "test": {"cmp": {"op": "=~", "value": 1}}}}"#,
        r#"{"event": {"event": "p", "window": {"last": "30x"}}}"#,
        r#"{"and": [{"tag": {"tag": "a"}}]}"#,
        r#"{"or": []}"#,
        r#"{"bogus": 1}"#,
    ] {
        match Predicate::from_json(bad) {
            Err(Error::Json { line, column, .. }) => {
                assert!(line >= 1 && column >= 1 || bad.is_empty())
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    let e = Predicate::from_json("{\n  \"tag\": 5\n}").unwrap_err();
    let Error::Json { line, .. } = e else {
        panic!()
    };
    assert_eq!(line, 2);
}

#[test]
fn deeply_nested_json_is_an_error_not_a_crash() {
    let deep = format!(
        "{}{{\"tag\": {{\"tag\": \"x\"}}}}{}",
        "{\"not\": ".repeat(10_000),
        "}".repeat(10_000)
    );
    assert!(matches!(
        Predicate::from_json(&deep),
        Err(Error::Json { .. })
    ));
    let fits_serde_but_not_us = format!(
        "{}{{\"tag\": {{\"tag\": \"x\"}}}}{}",
        "{\"not\": ".repeat(60),
        "}".repeat(60)
    );
    let e = Predicate::from_json(&fits_serde_but_not_us).unwrap_err();
    assert!(e.to_string().contains("deeper"), "{e}");
}

#[test]
fn json_form_is_readable() {
    let p = Predicate::parse(
        r#"country in ["SE"] and did purchase in last 30d and signed_up_at before 90d ago"#,
    )
    .unwrap();
    assert_eq!(
        p.to_json_value(),
        serde_json::json!({"and": [
            {"attribute": {"name": "country", "test": {"in": ["SE"]}}},
            {"event": {"event": "purchase", "window": {"last": "30d"}}},
            {"attribute": {"name": "signed_up_at", "test": {"cmp": {"op": "<", "value": {"ago": "90d"}}}}}
        ]})
    );
}
