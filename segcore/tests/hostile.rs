//! Hostile input: every case ends in a typed error (or a documented answer), promptly, with
//! the audience unchanged. The classes come from issue reports: panics in calendar arithmetic,
//! slow catalog reloads, lone surrogates, wrong argument types, over-deep nesting, coordinates
//! and instants out of range. The bindings run their own halves of this suite.

#[path = "common/grammar.rs"]
mod grammar;

/// Seeded random predicates from the grammar (the fuzz target's generator), evaluated at
/// extreme `now`s: no panic, and every path agrees with the reference.
#[test]
fn random_grammar_predicates_evaluate_without_panics_and_agree() {
    let audience = grammar::audience();
    let mut rng = fastrand::Rng::with_seed(9);
    for _ in 0..3_000 {
        let bytes: Vec<u8> = (0..rng.usize(0..64)).map(|_| rng.u8(..)).collect();
        let text = grammar::predicate_text(&bytes);
        grammar::evaluate(&audience, &text);
    }
}

use std::time::{Duration, Instant};

use segcore::{limits, Audience, Error, Event, Predicate, Value};

fn now() -> jiff::Timestamp {
    "2024-03-31T12:00:00Z".parse().unwrap()
}

/// Runs `f` and fails if it takes longer than `limit` (a bound against hangs, not a benchmark).
fn promptly<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < limit, "took {:?}", start.elapsed());
    out
}

fn parse_error(text: &str) -> segcore::ParseError {
    match Predicate::parse(text) {
        Err(Error::Parse(e)) => e,
        other => panic!("{text}: expected a parse error, got {other:?}"),
    }
}

#[test]
fn far_calendar_windows_are_refused_with_position_and_the_largest_allowed() {
    for (text, column, most) in [
        (
            "did purchase in last 239977 calendar months",
            22,
            "120000 calendar months",
        ),
        (
            "did purchase in last 10001 calendar years",
            22,
            "10000 calendar years",
        ),
        (
            "did purchase in last 40001 calendar quarters",
            22,
            "40000 calendar quarters",
        ),
        (
            "did purchase in last 521776 calendar weeks",
            22,
            "521775 calendar weeks",
        ),
        (
            "did purchase in last 3652426 calendar days",
            22,
            "3652425 calendar days",
        ),
        (
            "signup within last 4294967295 calendar years",
            20,
            "10000 calendar years",
        ),
        ("did purchase in last 3652426d", 22, "3652425d"),
        ("did purchase in last 99999999999999999999w", 22, "521775w"),
        ("signup > 87658201h ago", 10, "87658200h"),
    ] {
        let e = parse_error(text);
        assert_eq!((e.line, e.column), (1, column), "{text}");
        assert!(e.expected.contains(most), "{text}: {}", e.expected);
    }
    let e = parse_error("signup > @0000-12-31");
    assert!(e.expected.contains("years 1 to 9999"), "{}", e.expected);
}

#[test]
fn far_windows_in_json_are_refused_too() {
    let json = r#"{"event":{"event":"purchase","window":{"last_calendar":{"unit":"month","count":239977}}}}"#;
    let e = Predicate::from_json(json).unwrap_err();
    assert!(e.to_string().contains("at most 120000"), "{e}");
    let json = r#"{"event":{"event":"purchase","window":{"last":"600000w"}}}"#;
    assert!(Predicate::from_json(json)
        .unwrap_err()
        .to_string()
        .contains("521775w"));
    // A hand-built AST is checked when it is used.
    let audience = grammar::audience();
    let far = Predicate::Event {
        event: "purchase".into(),
        count: None,
        window: Some(segcore::language::Window::LastCalendar {
            unit: segcore::language::CalendarUnit::Year,
            count: u32::MAX,
        }),
        filter: Vec::new(),
    };
    assert!(matches!(
        audience.count(&far, now()),
        Err(Error::InvalidValue(_))
    ));
}

#[test]
fn the_longest_windows_evaluate_at_the_first_and_last_instants() {
    let audience = grammar::audience();
    for text in [
        "did purchase in last 120000 calendar months",
        "did purchase in last 10000 calendar years",
        "did purchase in last 40000 calendar quarters",
        "did purchase in last 521775 calendar weeks",
        "did purchase in last 3652425 calendar days",
        "did purchase in last 521775w",
        "signup within last 10000 calendar years",
        "first(purchase) within last 10000 calendar years",
        "tag \"vip\" within last 120000 calendar months",
        "sum(purchase.amount in last 10000 calendar years) > 0",
        "signup > 3652425d ago and signup < 3652425d from now",
        "did view between 3652425d ago and 3652425d from now",
    ] {
        promptly(Duration::from_secs(5), || {
            grammar::evaluate(&audience, text)
        });
    }
    // Ten thousand whole years before the last storable year reach back past the first
    // storable instant (the current year is not a *whole* past period, so bob's purchase in
    // 9999 is out).
    let p = audience
        .predicate("did purchase in last 10000 calendar years")
        .unwrap();
    let members = audience.members(&p, limits::LATEST_INSTANT).unwrap();
    assert_eq!(members, ["ada", "cyd"]);
}

#[test]
fn instants_outside_the_supported_range_are_refused_everywhere() {
    let mut audience = grammar::audience();
    let image = audience.to_bytes();
    let before = limits::EARLIEST_INSTANT - jiff::SignedDuration::from_nanos(1);
    assert!(matches!(
        audience.upsert("eve", [("signup", Value::Timestamp(before))]),
        Err(Error::InvalidValue(_))
    ));
    assert!(audience.tag("eve", "vip", before).is_err());
    assert!(audience
        .track("eve", Event::new("purchase", before))
        .is_err());
    assert!(audience.set_consent("eve", "email", true, before).is_err());
    let p = audience.predicate("tag \"vip\"").unwrap();
    assert!(matches!(
        audience.count(&p, before),
        Err(Error::InvalidValue(_))
    ));
    assert!(audience.segments_of("ada", before).is_err());
    assert_eq!(audience.to_bytes(), image, "nothing was written");
}

#[test]
fn deep_not_chains_are_parse_errors_with_a_position() {
    for (depth, word) in [(48, "not "), (47, "not "), (200, "not ")] {
        let text = format!("{}tag \"vip\"", word.repeat(depth));
        let parsed = Predicate::parse(&text);
        if depth < 48 {
            assert!(parsed.is_ok(), "{depth} nots make {} levels", depth + 1);
            continue;
        }
        let Err(Error::Parse(e)) = parsed else {
            panic!("{depth} nots: {parsed:?}")
        };
        assert_eq!(e.line, 1);
        assert!(e.expected.contains("at most 48 levels"), "{}", e.expected);
    }
    // `did not` and `and` chains count the same way.
    let text = format!("{}did not purchase", "not ".repeat(47));
    assert!(matches!(Predicate::parse(&text), Err(Error::Parse(_))));
    let text = format!(
        "{}tag \"a\"{}",
        "(tag \"a\" and ".repeat(48),
        ")".repeat(48)
    );
    let Err(Error::Parse(e)) = Predicate::parse(&text) else {
        panic!("48 nested ands")
    };
    assert!(e.column > 1);
    // Whatever parses also validates: the text and structure limits agree.
    let text = format!("{}tag \"vip\"", "not ".repeat(47));
    Predicate::parse(&text).unwrap().check_structure().unwrap();
}

#[test]
fn huge_inputs_end_promptly_in_an_answer_or_a_typed_error() {
    let audience = grammar::audience();
    let long_or = vec!["tag \"vip\""; 20_000].join(" or ");
    let p = promptly(Duration::from_secs(10), || audience.predicate(&long_or)).unwrap();
    assert_eq!(audience.count(&p, now()).unwrap(), 2);
    let parens = format!("{}tag \"vip\"{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(promptly(Duration::from_secs(5), || Predicate::parse(&parens)).is_err());
    let long_string = format!("name == \"{}\"", "x".repeat(1_000_000));
    let p = promptly(Duration::from_secs(5), || audience.predicate(&long_string)).unwrap();
    assert_eq!(audience.count(&p, now()).unwrap(), 0);
    for text in [
        "", " ", "\n\n", "\u{feff}", "\0", "tag", "(", ")", "\"", "@",
    ] {
        assert!(Predicate::parse(text).is_err(), "{text:?}");
    }
}

/// A chain `s_0 -> s_1 -> … -> s_n` of `not segment` references, defined from the end.
fn chain(audience: &mut Audience, n: usize) -> segcore::Result<()> {
    let p = audience.predicate("tag \"vip\"")?;
    audience.define_segment(&format!("s_{n:03}"), p)?;
    for i in (0..n).rev() {
        let p = audience.predicate(&format!("not segment s_{:03}", i + 1))?;
        audience.define_segment(&format!("s_{i:03}"), p)?;
    }
    Ok(())
}

#[test]
fn segment_chains_are_bounded_in_depth_and_reload_in_dependency_order() {
    let mut audience = grammar::audience();
    // Each link is two levels (`not`, `segment`): 63 links fit in 128 levels, 64 do not.
    chain(&mut audience, 63).unwrap();
    let before = audience.catalog().clone();
    let mut longer = audience.clone();
    let e = chain(&mut longer, 64).unwrap_err();
    assert_eq!(
        e,
        Error::TooDeep {
            limit: limits::MAX_EXPANDED_DEPTH
        }
    );
    // Names sort against the dependency order; the reload is one pass in that order.
    let image = audience.to_bytes();
    let reloaded = promptly(Duration::from_secs(2), || Audience::from_bytes(&image)).unwrap();
    assert_eq!(reloaded.catalog(), &before);
    let s0 = Predicate::segment("s_000");
    assert_eq!(
        reloaded.member_slots(&s0, now()).unwrap(),
        audience.member_slots_by_reference(&s0, now()).unwrap()
    );
    // Redefining the chain's end deeper would push its dependants past the limit: refused,
    // and nothing changes.
    let deeper = audience.predicate("not not tag \"vip\"").unwrap();
    assert_eq!(
        audience.define_segment("s_063", deeper),
        Err(Error::TooDeep {
            limit: limits::MAX_EXPANDED_DEPTH
        })
    );
    assert_eq!(audience.catalog(), &before);
    // Evaluating the longest chain allowed fits a small thread stack.
    let deep = audience.clone();
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            deep.count(&Predicate::segment("s_000"), now()).unwrap();
            deep.segments_of("ada", now()).unwrap();
            deep.member_slots_by_reference(&Predicate::segment("s_000"), now())
                .unwrap();
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
}

#[test]
fn removing_keeps_track_of_users_and_refuses_while_used() {
    let mut audience = grammar::audience();
    chain(&mut audience, 3).unwrap();
    let used_by: Vec<&str> = audience.catalog().used_by("s_002").collect();
    assert_eq!(used_by, ["s_001"]);
    assert!(matches!(
        audience.remove_segment("s_002"),
        Err(Error::SegmentInUse { .. })
    ));
    audience.remove_segment("s_000").unwrap();
    audience.remove_segment("s_001").unwrap();
    assert_eq!(audience.catalog().used_by("s_002").count(), 0);
    audience.remove_segment("s_002").unwrap();
    // Replacing a definition moves its references.
    let p = audience.predicate("segment base").unwrap();
    audience.define_segment("user", p).unwrap();
    let p = audience.predicate("segment derived").unwrap();
    audience.define_segment("user", p).unwrap();
    assert!(audience.catalog().used_by("base").all(|u| u != "user"));
    audience.remove_segment("user").unwrap();
    audience.remove_segment("derived").unwrap();
    audience.remove_segment("base").unwrap();
}

/// The shared hostile corpus `testdata/hostile/predicates.json`, also run by the Python and
/// Node suites.
#[test]
fn the_shared_hostile_corpus() {
    use serde_json::Value as Json;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/hostile/predicates.json");
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let spec = &doc["audience"];
    let mut audience = Audience::with_time_zone(spec["time_zone"].as_str().unwrap()).unwrap();
    let ts = |v: &Json| -> jiff::Timestamp { v.as_str().unwrap().parse().unwrap() };
    for p in spec["profiles"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let attrs: Vec<(String, Value)> = p["attributes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Json::Number(n) => Value::Number(n.as_f64().unwrap()),
                    Json::String(s) => Value::String(s.clone()),
                    other => Value::Timestamp(ts(&other["timestamp"])),
                };
                (k.clone(), value)
            })
            .collect();
        audience.upsert(id, attrs).unwrap();
        for tag in p["tags"].as_array().into_iter().flatten() {
            audience.tag(id, tag.as_str().unwrap(), now()).unwrap();
        }
        for e in p["events"].as_array().into_iter().flatten() {
            let mut event = Event::new(e["name"].as_str().unwrap(), ts(&e["at"]));
            for (k, v) in e["values"].as_object().into_iter().flatten() {
                event = event.value(k, v.as_f64().unwrap());
            }
            audience.track(id, event).unwrap();
        }
    }
    let image = audience.to_bytes();
    for case in doc["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let short: String = text.chars().take(60).collect();
        let result = promptly(Duration::from_secs(5), || {
            let p = audience.predicate(text)?;
            audience.define_segment("hostile", p.clone())?;
            let early = audience.count(&p, limits::EARLIEST_INSTANT)?;
            let late = audience.count(&p, limits::LATEST_INSTANT)?;
            audience.remove_segment("hostile")?;
            Ok::<_, Error>((early, late))
        });
        match (result, case.get("kind")) {
            (Err(e), Some(kind)) => {
                assert_eq!(e.kind(), kind.as_str().unwrap(), "{short}: {e}");
                if let Error::Parse(p) = &e {
                    if let Some(line) = case.get("line") {
                        assert_eq!(p.line as u64, line.as_u64().unwrap(), "{short}: {e}");
                    }
                    if let Some(column) = case.get("column") {
                        assert_eq!(p.column as u64, column.as_u64().unwrap(), "{short}: {e}");
                    }
                }
                if let Some(says) = case.get("says") {
                    assert!(
                        e.to_string().contains(says.as_str().unwrap()),
                        "{short}: {e}"
                    );
                }
            }
            (Ok((early, late)), None) => {
                assert_eq!(
                    early,
                    case["count_at_earliest"].as_u64().unwrap(),
                    "{short}"
                );
                assert_eq!(late, case["count_at_latest"].as_u64().unwrap(), "{short}");
            }
            (got, _) => panic!("{short}: got {got:?}"),
        }
        assert_eq!(
            audience.to_bytes(),
            image,
            "{short}: the audience is unchanged"
        );
    }
}
