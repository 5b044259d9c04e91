//! Activation exports: no profile without consent for the channel ever leaves (a property
//! test over random audiences), the counts of who was left out add up, and the formats.

use std::collections::BTreeSet;

use jiff::Timestamp;
use proptest::prelude::*;
use segcore::export::{ExportFormat, ExportOptions, ExportReport};
use segcore::{Audience, Error, Predicate};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// One random profile: consent decisions on email and sms (none, granted, withdrawn; a later
/// decision may override), suppression tags, an e-mail address, a segment flag.
#[derive(Debug, Clone)]
struct Person {
    decisions: Vec<(bool, Option<bool>, i64)>,
    tags: Vec<u8>,
    has_email: bool,
    in_segment: bool,
    erased: bool,
}

fn person() -> impl Strategy<Value = Person> {
    (
        prop::collection::vec(
            (any::<bool>(), prop::option::of(any::<bool>()), 0i64..5),
            0..4,
        ),
        prop::collection::vec(0u8..4, 0..3),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(decisions, tags, has_email, in_segment, erased)| Person {
            decisions,
            tags,
            has_email,
            in_segment,
            erased,
        })
}

fn build(people: &[Person]) -> Audience {
    let mut audience = Audience::new();
    audience
        .declare_attribute("email", segcore::AttrType::String)
        .unwrap();
    audience
        .declare_attribute("in_segment", segcore::AttrType::Bool)
        .unwrap();
    for (i, p) in people.iter().enumerate() {
        let id = format!("p{i}");
        let mut attributes = vec![("in_segment", p.in_segment.into())];
        if p.has_email {
            attributes.push(("email", format!("P{i}@Example.com").into()));
        }
        audience.upsert(&id, attributes).unwrap();
        for &(sms, decision, day) in &p.decisions {
            if let Some(granted) = decision {
                let channel = if sms { "sms" } else { "email" };
                let at = Timestamp::from_second(1_700_000_000 + day * 86_400).unwrap();
                audience.set_consent(&id, channel, granted, at).unwrap();
            }
        }
        for &t in &p.tags {
            let tag = ["suppressed", "suppressed:email", "suppressed:sms", "vip"][t as usize];
            audience.tag(&id, tag, ts("2024-01-01T00:00:00Z")).unwrap();
        }
        if p.erased {
            audience.erase(&id).unwrap();
        }
    }
    audience
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_export_holds_a_profile_without_consent(
        people in prop::collection::vec(person(), 0..40),
        suppress in prop::collection::btree_set(0usize..40, 0..4),
        jsonl in any::<bool>(),
        channel in prop::sample::select(vec!["email", "sms"]),
    ) {
        let audience = build(&people);
        let now = ts("2025-01-01T00:00:00Z");
        let segment = audience.predicate("in_segment == true").unwrap();
        let listed: Vec<String> = suppress.iter().map(|i| format!("  p{i}@example.COM ")).collect();
        let options = ExportOptions::new(channel)
            .columns(["id", "email"])
            .format(if jsonl { ExportFormat::Jsonl } else { ExportFormat::Csv })
            .suppress(&listed);
        let mut out = Vec::new();
        let report = audience.export(&segment, now, &options, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let exported: Vec<String> = if jsonl {
            text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_owned()).collect()
        } else {
            let mut lines = text.lines();
            prop_assert_eq!(lines.next(), Some("id,email"));
            lines.map(|l| l.split(',').next().unwrap().to_owned()).collect()
        };
        // Every exported profile granted consent on the channel in its latest decision, is
        // not suppressed, is a member, and is not erased.
        for id in &exported {
            let p = audience.profile(id).expect("an exported profile exists");
            prop_assert!(p.consent.get(channel).is_some_and(|c| c.granted), "{id} lacks consent");
            prop_assert!(!p.tags.contains_key("suppressed"));
            let per_channel = format!("suppressed:{channel}");
            prop_assert!(!p.tags.contains_key(&per_channel));
            let i: usize = id[1..].parse().unwrap();
            prop_assert!(!(suppress.contains(&i) && people[i].has_email), "{id} is on the list");
            prop_assert!(people[i].in_segment && !people[i].erased);
        }
        // The model: who should be exported, and why each other member is left out.
        let mut want = ExportReport::default();
        let mut want_ids = BTreeSet::new();
        for (i, p) in people.iter().enumerate() {
            if !p.in_segment || p.erased {
                continue;
            }
            want.members += 1;
            let id = format!("p{i}");
            let profile = audience.profile(&id).unwrap();
            match profile.consent.get(channel) {
                Some(c) if !c.granted => want.consent_withdrawn += 1,
                None => want.no_consent += 1,
                Some(_) => {
                    let tagged = profile.tags.contains_key("suppressed")
                        || profile.tags.contains_key(&format!("suppressed:{channel}"));
                    if tagged || (suppress.contains(&i) && p.has_email) {
                        want.suppressed += 1;
                    } else {
                        want.exported += 1;
                        want_ids.insert(id);
                    }
                }
            }
        }
        prop_assert_eq!(report, want);
        prop_assert_eq!(exported.into_iter().collect::<BTreeSet<_>>(), want_ids);
    }
}

fn small() -> Audience {
    let now = ts("2024-06-01T00:00:00Z");
    let mut a = Audience::new();
    a.upsert(
        "ada",
        [
            ("email", "ada@example.com".into()),
            ("score", 4.0.into()),
            ("vip", true.into()),
        ],
    )
    .unwrap();
    a.upsert(
        "bob",
        [("email", "bob@example.com".into()), ("score", 2.5.into())],
    )
    .unwrap();
    a.upsert("cy", [("email", "cy,\"q\"@example.com".into())])
        .unwrap();
    for id in ["ada", "bob", "cy"] {
        a.set_consent(id, "email", true, now).unwrap();
    }
    a
}

#[test]
fn csv_quotes_and_jsonl_types() {
    let a = small();
    let now = ts("2024-06-02T00:00:00Z");
    let everyone = Predicate::parse("email exists").unwrap();
    let options = ExportOptions::new("email").columns(["id", "email", "score", "vip"]);
    let mut csv = Vec::new();
    a.export(&everyone, now, &options, &mut csv).unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "id,email,score,vip\nada,ada@example.com,4,true\nbob,bob@example.com,2.5,\ncy,\"cy,\"\"q\"\"@example.com\",,\n"
    );
    let mut jsonl = Vec::new();
    a.export(
        &everyone,
        now,
        &options.clone().format(ExportFormat::Jsonl),
        &mut jsonl,
    )
    .unwrap();
    let first = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        first,
        r#"{"email":"ada@example.com","id":"ada","score":4.0,"vip":true}"#
    );
}

#[test]
fn unknown_columns_and_channels_are_refused_before_writing() {
    let a = small();
    let now = ts("2024-06-02T00:00:00Z");
    let everyone = Predicate::parse("email exists").unwrap();
    let mut out = Vec::new();
    let err = a
        .export(&everyone, now, &ExportOptions::new("emial"), &mut out)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown consent channel `emial` (did you mean `email`?)"
    );
    let err = a
        .export(
            &everyone,
            now,
            &ExportOptions::new("email").columns(["emal"]),
            &mut out,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::UnknownName { ref suggestion, .. } if suggestion.as_deref() == Some("email")),
        "{err}"
    );
    assert!(out.is_empty());
}

/// CSV injection: text that a spreadsheet would run is neutralised by default — in every
/// text cell and the header — and written verbatim when asked; numbers and JSONL are not
/// touched.
#[test]
fn formulas_are_neutralized_unless_asked_not_to() {
    let now = ts("2024-06-02T00:00:00Z");
    let mut a = Audience::new();
    let names = [
        "=HYPERLINK(\"x\")",
        "+1",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "plain",
    ];
    for (i, name) in names.iter().enumerate() {
        let id = format!("{}p{i}", if i == 0 { "=" } else { "" });
        a.upsert(
            &id,
            [("name", (*name).into()), ("n", (-(i as f64) - 1.0).into())],
        )
        .unwrap();
        a.set_consent(&id, "email", true, now).unwrap();
    }
    a.upsert("=p0", [("=odd", "v".into())]).unwrap();
    let everyone = Predicate::parse("consent email").unwrap();
    let options = ExportOptions::new("email").columns(["id", "name", "n", "=odd"]);
    let mut csv = Vec::new();
    a.export(&everyone, now, &options, &mut csv).unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(&csv[..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["id", "name", "n", "'=odd"]
    );
    for row in reader.records() {
        let row = row.unwrap();
        for cell in [&row[0], &row[1], &row[3]] {
            assert!(
                !matches!(
                    cell.as_bytes().first(),
                    Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
                ),
                "{row:?}"
            );
        }
        let n: f64 = row[2].parse().unwrap();
        assert!(n <= 0.0, "numbers are written as they are: {row:?}");
    }
    let text = String::from_utf8(csv).unwrap();
    assert!(text.contains("\n'=p0,\"'=HYPERLINK"), "{text}");

    let mut verbatim = Vec::new();
    a.export(
        &everyone,
        now,
        &options.clone().neutralize_formulas(false),
        &mut verbatim,
    )
    .unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(&verbatim[..]);
    let stored: BTreeSet<String> = reader.records().map(|r| r.unwrap()[1].to_owned()).collect();
    assert_eq!(stored, names.iter().map(|n| n.to_string()).collect());

    let mut jsonl = Vec::new();
    a.export(
        &everyone,
        now,
        &options.format(ExportFormat::Jsonl),
        &mut jsonl,
    )
    .unwrap();
    assert!(String::from_utf8(jsonl)
        .unwrap()
        .contains(r#""name":"=HYPERLINK"#));
}

/// `export_file` never writes through what it finds at or beside its path: a symbolic link at
/// the target is refused (its target untouched), a link planted where the old `.partial`
/// file went is ignored, a directory is refused, and a character device is streamed into.
#[cfg(unix)]
#[test]
fn export_files_touch_nothing_outside_the_audience() {
    use std::os::unix::fs::symlink;
    let a = small();
    let now = ts("2024-06-02T00:00:00Z");
    let everyone = Predicate::parse("email exists").unwrap();
    let options = ExportOptions::new("email").columns(["id"]);
    let dir = std::env::temp_dir().join(format!("segcore-export-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();

    let target = dir.join("list.csv");
    symlink(&victim, &target).unwrap();
    let e = a
        .export_file(&everyone, now, &options, &target)
        .unwrap_err();
    assert_eq!(e.kind(), "io");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(std::fs::symlink_metadata(&target)
        .unwrap()
        .file_type()
        .is_symlink());
    std::fs::remove_file(&target).unwrap();

    symlink(&victim, dir.join("list.csv.partial")).unwrap();
    let report = a.export_file(&everyone, now, &options, &target).unwrap();
    assert_eq!(
        std::fs::read_to_string(&target).unwrap().lines().count() as u64,
        report.exported + 1
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

    let e = a.export_file(&everyone, now, &options, &dir).unwrap_err();
    assert!(e.to_string().contains("a directory"), "{e}");
    a.export_file(&everyone, now, &options, "/dev/null")
        .unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    std::fs::remove_dir_all(&dir).unwrap();
}
