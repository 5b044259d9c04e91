//! Runs the shared conformance corpus in `testdata/conformance/`: the same files the Python
//! and Node suites run, so the three can never drift apart.
//!
//! Each file holds an audience (profiles with attributes, tags, events, consent; ids to erase;
//! named segments) and cases: a predicate in text form with either the expected member ids or
//! the kind of error it must raise. Every case runs from its text and from its JSON form,
//! through the matcher and through the reference evaluator.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::corpus::{load, ts};
use jiff::Timestamp;
use segcore::{Audience, Error, Predicate};
use serde_json::Value as Json;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/conformance")
}

fn check_error(name: &str, case: &Json, err: &Error) {
    assert_eq!(err.kind(), case["error"].as_str().unwrap(), "{name}: {err}");
    if let Some(s) = case.get("suggestion") {
        let Error::UnknownName { suggestion, .. } = err else {
            panic!("{name}: {err:?}")
        };
        assert_eq!(suggestion.as_deref(), s.as_str(), "{name}");
    }
    if let Error::Parse(e) = err {
        for (key, got) in [("line", e.line), ("column", e.column)] {
            if let Some(want) = case.get(key) {
                assert_eq!(Some(got as u64), want.as_u64(), "{name}: {key}");
            }
        }
    }
}

fn run_case(audience: &Audience, default_now: Timestamp, case: &Json) -> usize {
    let name = case["name"].as_str().unwrap();
    let text = case["text"].as_str().unwrap();
    let now = case.get("now").map_or(default_now, ts);
    let predicate = match audience.predicate(text) {
        Ok(p) => p,
        Err(e) => {
            assert!(case.get("error").is_some(), "{name}: unexpected error {e}");
            check_error(name, case, &e);
            return 1;
        }
    };
    assert!(
        case.get("error").is_none(),
        "{name}: expected an error, got {predicate:?}"
    );
    let expect: BTreeSet<String> = case["expect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();

    let from_json = Predicate::from_json(&predicate.to_json()).unwrap();
    let reparsed = Predicate::parse(&predicate.to_string()).unwrap();
    for (form, p) in [
        ("text", &predicate),
        ("json", &from_json),
        ("printed", &reparsed),
    ] {
        let members: BTreeSet<String> = audience.members(p, now).unwrap().into_iter().collect();
        assert_eq!(members, expect, "{name} ({form}): {text}");
        assert_eq!(
            audience.count(p, now).unwrap(),
            expect.len() as u64,
            "{name}"
        );
        assert_eq!(
            audience.member_slots(p, now).unwrap(),
            audience.member_slots_by_reference(p, now).unwrap(),
            "{name} ({form}): the matcher and the reference evaluator differ"
        );
    }
    for id in [
        "ada", "bob", "cy", "dee", "eve", "gus", "ann", "ben", "cat", "dan", "eli", "fin",
    ] {
        if audience.slot(id).is_some() {
            let m = audience.matches(id, &predicate, now).unwrap();
            assert_eq!(m, expect.contains(id), "{name}: matches({id})");
        }
    }
    1
}

#[test]
fn conformance_corpus() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut cases = 0;
    for path in files {
        let file: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let audience = load(&file);
        let now = ts(&file["now"]);
        for case in file["cases"].as_array().unwrap() {
            cases += run_case(&audience, now, case);
        }
    }
    assert!(
        cases >= 60,
        "the corpus has {cases} cases; the brief asks for at least 60"
    );
    println!("{cases} conformance cases passed");
}
