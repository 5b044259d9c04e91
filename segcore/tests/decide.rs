//! Decisions: the shared corpus in `testdata/decisions/` (also run by the Python and Node
//! suites), `decide` and `assign` agreeing on random audiences, templates that never fail on a
//! missing field, and bad input refused with typed errors and nothing changed.

mod common;

use std::path::Path;

use common::corpus::{load, ts};
use common::{audience_strategy, build, valid_predicate};
use proptest::prelude::*;
use segcore::decide::holdout_fraction;
use segcore::{Audience, ChosenBy, Decision, Error, Escape, Rule, Template, Variant};
use serde_json::{json, Value as Json};

fn corpus() -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/decisions/decisions.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn chosen(c: ChosenBy) -> (String, Option<u64>) {
    match c {
        ChosenBy::Rule(i) => ("rule".to_owned(), Some(i as u64)),
        ChosenBy::Default => ("default".to_owned(), None),
        ChosenBy::Holdout => ("holdout".to_owned(), None),
    }
}

#[test]
fn the_decision_corpus() {
    let file = corpus();
    for h in file["holdout"].as_array().unwrap() {
        let got = holdout_fraction(
            h["decision"].as_str().unwrap(),
            h["profile"].as_str().unwrap(),
        );
        assert_eq!(got, h["fraction"].as_f64().unwrap(), "{h}");
    }
    let mut audience = load(&file);
    let now = ts(&file["now"]);
    for (name, spec) in file["decisions"].as_object().unwrap() {
        let decision = Decision::from_json(&spec.to_string()).unwrap();
        audience.define_decision(name, decision).unwrap();
    }
    for case in file["cases"].as_array().unwrap() {
        let got = audience
            .decide(
                case["profile"].as_str().unwrap(),
                case["decision"].as_str().unwrap(),
                now,
            )
            .unwrap();
        assert_eq!(got.variant, case["variant"].as_str().unwrap(), "{case}");
        let (by, rule) = chosen(got.chosen_by);
        assert_eq!(by, case["chosen_by"].as_str().unwrap(), "{case}");
        assert_eq!(rule, case.get("rule").and_then(Json::as_u64), "{case}");
        assert_eq!(got.payload, case["payload"], "{case}");
        assert_eq!(got.message.as_deref(), case["message"].as_str(), "{case}");
    }
    for (name, expected) in file["assignments"].as_object().unwrap() {
        let got = audience.assign(name, now).unwrap();
        let got = json!({"variants": got.variants, "holdout": got.holdout});
        assert_eq!(&got, expected, "{name}");
    }
    for case in file["why"].as_array().unwrap() {
        let why = audience
            .why(
                case["profile"].as_str().unwrap(),
                case["segment"].as_str().unwrap(),
                now,
            )
            .unwrap();
        assert_eq!(why.holds, case["holds"].as_bool().unwrap(), "{case}");
        assert_eq!(why.to_string(), case["text"].as_str().unwrap(), "{case}");
    }
    for case in file["errors"].as_array().unwrap() {
        let before = audience.decision_names().count();
        let err = Decision::from_json(&case["decision"].to_string())
            .and_then(|d| audience.define_decision("probe", d))
            .unwrap_err();
        assert_eq!(
            err.kind(),
            case["kind"].as_str().unwrap(),
            "{}: {err}",
            case["why"]
        );
        assert_eq!(
            audience.decision_names().count(),
            before,
            "nothing is defined"
        );
        if let Some(s) = case.get("suggestion") {
            let Error::UnknownName { suggestion, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(suggestion.as_deref(), s.as_str());
        }
        let place = match &err {
            Error::Parse(e) => Some((e.line, e.column)),
            Error::Template { line, column, .. } => Some((*line, *column)),
            _ => None,
        };
        for (i, key) in ["line", "column"].iter().enumerate() {
            if let Some(want) = case.get(*key).and_then(Json::as_u64) {
                let got = place.map(|p| if i == 0 { p.0 } else { p.1 });
                assert_eq!(got, Some(want as usize), "{}: {key}", case["why"]);
            }
        }
    }
}

#[test]
fn segments_in_use_by_a_decision_cannot_be_removed() {
    let mut a = Audience::new();
    a.define_segment("vips", a.predicate(r#"tag "vip""#).unwrap())
        .unwrap();
    a.define_segment("other", a.predicate(r#"tag "x""#).unwrap())
        .unwrap();
    let d = Decision {
        rules: vec![Rule {
            segment: None,
            when: Some("segment vips".into()),
            variant: "a".into(),
        }],
        default: "a".into(),
        holdout: 0.0,
        variants: [("a".to_owned(), Variant::default())].into(),
        escape: Escape::None,
    };
    a.define_decision("hero", d.clone()).unwrap();
    let e = a.remove_segment("vips").unwrap_err();
    assert_eq!(e.kind(), "segment_in_use");
    assert!(e.to_string().contains("decision hero"), "{e}");
    a.remove_segment("other").unwrap();
    assert_eq!(a.remove_decision("hero").unwrap(), d);
    a.remove_segment("vips").unwrap();
    let e = a
        .decide("nobody", "hero", "2024-01-01T00:00:00Z".parse().unwrap())
        .unwrap_err();
    assert_eq!(e.kind(), "unknown_name");
    assert_eq!(
        a.remove_decision("hero").unwrap_err().kind(),
        "unknown_name"
    );
}

#[test]
fn templates_never_fail_on_missing_fields_and_stop_runaway_work() {
    let t = Template::parse("{{ a }}|{{ a.b.c }}|{{ a | default('x') }}|{{ missing[3] }}|{% for i in nothing %}{{ i }}{% endfor %}").unwrap();
    assert_eq!(t.render_json(&json!({})).unwrap(), "||x||");
    let runaway = Template::parse(
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    )
    .unwrap();
    assert_eq!(
        runaway.render_json(&json!({})).unwrap_err().kind(),
        "template"
    );
    let e = Template::parse("Hej {% if %}").unwrap_err();
    let Error::Template { line, column, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!((line, column), (1, 11));
    assert_eq!(
        Template::parse(&"x".repeat(70_000)).unwrap_err().kind(),
        "template"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// `assign` (rules as member sets) gives every profile what `decide` gives it alone.
    #[test]
    fn assign_agrees_with_decide(
        (specs, mutations) in audience_strategy(),
        rules in prop::collection::vec(valid_predicate(), 0..4),
        holdout in prop_oneof![Just(0.0), Just(0.5), Just(1.0), 0.0f64..1.0],
    ) {
        let mut a = build(&specs, &mutations);
        let variants = ["a", "b", "c"];
        let decision = Decision {
            rules: rules
                .iter()
                .enumerate()
                .map(|(i, p)| Rule { segment: None, when: Some(p.to_string()), variant: variants[i % 3].into() })
                .collect(),
            default: "c".into(),
            holdout,
            variants: variants.iter().map(|v| (v.to_string(), Variant::default())).collect(),
            escape: Escape::None,
        };
        a.define_decision("d", decision).unwrap();
        let now = common::now();
        let all = a.assign("d", now).unwrap();
        for i in 0..40 {
            let id = common::id(i);
            if a.slot(&id).is_none() {
                continue;
            }
            let one = a.decide(&id, "d", now).unwrap();
            let held = all.holdout.contains(&id);
            prop_assert_eq!(held, one.chosen_by == ChosenBy::Holdout, "{}", id);
            if !held {
                prop_assert!(all.variants[&one.variant].contains(&id), "{} {:?}", id, one);
            }
        }
    }
}

/// A decision that says `"escape": "html"` shows hostile values as text in its messages, and
/// keeps saying so after a reload; one without it renders text as it is (for SMS and push).
#[test]
fn html_decisions_escape_what_they_show() {
    let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    let mut a = Audience::new();
    a.upsert("eve", [("first_name", "<script>alert(1)</script>".into())])
        .unwrap();
    let spec = |escape: &str| {
        json!({
            "rules": [], "default": "hi", "escape": escape,
            "variants": {"hi": {"template": "<p>Hi {{ first_name }}</p>"}}
        })
        .to_string()
    };
    a.define_decision("page", Decision::from_json(&spec("html")).unwrap())
        .unwrap();
    a.define_decision("sms", Decision::from_json(&spec("none")).unwrap())
        .unwrap();
    let escaped = "<p>Hi &lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>";
    assert_eq!(
        a.decide("eve", "page", now).unwrap().message.as_deref(),
        Some(escaped)
    );
    assert_eq!(
        a.decide("eve", "sms", now).unwrap().message.as_deref(),
        Some("<p>Hi <script>alert(1)</script></p>")
    );
    let reloaded = Audience::from_bytes(&a.to_bytes()).unwrap();
    assert_eq!(reloaded.decision("page").unwrap().escape, Escape::Html);
    assert_eq!(
        reloaded
            .decide("eve", "page", now)
            .unwrap()
            .message
            .as_deref(),
        Some(escaped)
    );
    let html = Template::with_escape("{{ first_name }}", Escape::Html).unwrap();
    assert_eq!(
        a.render("eve", &html).unwrap(),
        "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"
    );
    let e = Decision::from_json(&spec("xml")).unwrap_err();
    assert_eq!(e.kind(), "json", "{e}");
}
