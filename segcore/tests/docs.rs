//! The examples in the docs are real: every ```segment block in docs/segment-language.md and
//! README.md parses and validates against the sample shop, and the JSON example is the
//! flavour example of the brief.

use std::path::Path;

use segcore::sample::SampleShop;
use segcore::{Audience, Predicate};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bodies of the fenced blocks tagged `lang`.
fn blocks(markdown: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(tag)) if tag.trim() == lang => current = Some(String::new()),
            (Some(body), Some("")) => {
                out.push(std::mem::take(body));
                current = None;
            }
            (Some(body), _) => {
                body.push_str(line);
                body.push('\n');
            }
            _ => {}
        }
    }
    out
}

fn shop() -> Audience {
    let mut a = SampleShop::new(50).build();
    for (name, text) in [
        ("big_spenders", "sum(purchase.amount in last 365d) > 1000"),
        ("lapsed", "did purchase and last(purchase) before 90d ago"),
    ] {
        let p = a.predicate(text).unwrap();
        a.define_segment(name, p).unwrap();
    }
    a
}

#[test]
fn segment_examples_in_the_docs_parse_and_validate() {
    let audience = shop();
    let mut checked = 0;
    for file in ["docs/segment-language.md", "README.md"] {
        for text in blocks(&read(file), "segment") {
            let p = audience
                .predicate(&text)
                .unwrap_or_else(|e| panic!("{file}: {text}\n{e}"));
            audience.count(&p, SampleShop::new(50).now).unwrap();
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} examples found");
}

#[test]
fn the_json_example_is_the_flavour_example() {
    let json = blocks(&read("docs/segment-language.md"), "json");
    assert_eq!(json.len(), 1);
    let from_json = Predicate::from_json(&json[0]).unwrap();
    let from_text = Predicate::parse(
        r#"country in ["SE", "DK"] and tag "vip"
             and did purchase at least 2 times in last 30d where category == "shoes"
             and sum(purchase.amount in last 365d) > 500
             and not did email_open in last 60d
             and within 50km of (59.33, 18.07)
             and consent email"#,
    )
    .unwrap();
    assert_eq!(from_json, from_text);
}
