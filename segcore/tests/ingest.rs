//! Ingest: the shared corpus in `testdata/ingest/` (the same files and expectations the
//! Python, Node and command-line suites load), every bad-input case with its line and reason,
//! the rules for merges and touches, a 1 GiB line, and the all-or-nothing load.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use segcore::ingest::{ContactMapping, IngestOptions, OnError, Report};
use segcore::{Audience, Error};
use serde_json::{json, Value as Json};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/ingest")
}

fn expected() -> Json {
    let text = std::fs::read_to_string(corpus().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn report_json(r: &Report) -> Json {
    json!({
        "read": r.read,
        "loaded": r.loaded,
        "rejected": r.rejected,
        "merged": r.merged,
        "values_not_stored": r.values_not_stored,
        "loaded_by_type": r.loaded_by_type,
        "rejections": r.rejections.iter().map(|x| json!([x.line, x.reason])).collect::<Vec<_>>(),
    })
}

fn options(spec: &Json) -> IngestOptions {
    IngestOptions {
        max_line_bytes: spec["max_line_bytes"].as_u64().unwrap() as usize,
        ..IngestOptions::default()
    }
}

fn mapping(spec: &Json) -> ContactMapping {
    let mut m = ContactMapping::preset(spec["preset"].as_str().unwrap()).unwrap();
    for (channel, granted) in spec["consent_for_every_row"].as_object().unwrap() {
        m = m.consent_for_every_row(channel, granted.as_bool().unwrap());
    }
    m
}

/// The corpus loaded as the expectations say; the reports of both loads.
fn load_corpus(audience: &mut Audience, want: &Json) -> (Report, Report) {
    let m = &want["messages"];
    let messages = audience
        .ingest_jsonl_file(corpus().join(m["file"].as_str().unwrap()), &options(m))
        .unwrap();
    let c = &want["contacts"];
    let contacts = audience
        .load_contacts_file(
            corpus().join(c["file"].as_str().unwrap()),
            &mapping(c),
            ts(c["at"].as_str().unwrap()),
            &IngestOptions::default(),
        )
        .unwrap();
    (messages, contacts)
}

fn check_queries(audience: &Audience, want: &Json) {
    for q in want["queries"].as_array().unwrap() {
        let text = q["predicate"].as_str().unwrap();
        let p = audience
            .predicate(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut got = audience
            .members(&p, ts(q["now"].as_str().unwrap()))
            .unwrap();
        got.sort();
        let want: Vec<&str> = q["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(got, want, "{text}");
    }
}

#[test]
fn the_shared_corpus_loads_with_exact_counts() {
    let want = expected();
    let mut audience = Audience::new();
    let (messages, contacts) = load_corpus(&mut audience, &want);
    if std::env::var_os("SEGCORE_BLESS").is_some() {
        println!(
            "{}",
            serde_json::to_string_pretty(&report_json(&messages)).unwrap()
        );
        println!(
            "{}",
            serde_json::to_string_pretty(&report_json(&contacts)).unwrap()
        );
    }
    for (report, key) in [(&messages, "messages"), (&contacts, "contacts")] {
        let got = report_json(report);
        for field in [
            "read",
            "loaded",
            "rejected",
            "merged",
            "values_not_stored",
            "loaded_by_type",
            "rejections",
        ] {
            assert_eq!(got[field], want[key][field], "{key}.{field}");
        }
        assert_eq!(report.read, report.loaded + report.rejected);
    }
    check_queries(&audience, &want);
}

#[test]
fn a_failing_load_loads_nothing() {
    let want = expected();
    let m = &want["messages"];
    let strict = IngestOptions {
        on_error: OnError::Fail,
        ..options(m)
    };
    let mut audience = Audience::new();
    let err = audience
        .ingest_jsonl_file(corpus().join("messages.jsonl"), &strict)
        .unwrap_err();
    let first = &m["rejections"][0];
    let Error::Input {
        line,
        reason,
        origin,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*line, first[0].as_u64());
    assert_eq!(reason, first[1].as_str().unwrap());
    assert!(origin.ends_with("messages.jsonl"), "{origin}");
    assert_eq!(err.kind(), "input");
    assert!(audience.is_empty());
    assert_eq!(audience.schema().events().count(), 0);

    let c = &want["contacts"];
    let err = audience
        .load_contacts_file(
            corpus().join("contacts.csv"),
            &mapping(c),
            ts(c["at"].as_str().unwrap()),
            &IngestOptions {
                on_error: OnError::Fail,
                ..IngestOptions::default()
            },
        )
        .unwrap_err();
    let Error::Input { line, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*line, c["rejections"][0][0].as_u64());
    assert!(audience.is_empty());

    // The good lines alone load under `Fail`, and the same as under `Skip`.
    let all = std::fs::read(corpus().join("messages.jsonl")).unwrap();
    let good: Vec<u8> = all
        .split_inclusive(|b| *b == b'\n')
        .take(13)
        .flatten()
        .copied()
        .collect();
    let report = audience
        .ingest_jsonl(Cursor::new(good), "good", &strict)
        .unwrap();
    assert_eq!((report.read, report.rejected), (12, 0));
}

#[test]
fn the_records_of_a_list_load_like_lines() {
    let text = std::fs::read(corpus().join("messages.jsonl")).unwrap();
    let records: Vec<Json> = text
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    let mut audience = Audience::new();
    let report = audience
        .ingest_messages(&records, &IngestOptions::default())
        .unwrap();
    let mut lines = Audience::new();
    let from_lines = lines
        .ingest_jsonl(Cursor::new(text), "m", &IngestOptions::default())
        .unwrap();
    assert_eq!(report.loaded, from_lines.loaded);
    assert_eq!(report.merged, from_lines.merged);
    assert_eq!(audience.len(), lines.len());
}

#[test]
fn one_message_at_a_time_reports_its_error() {
    let mut audience = Audience::new();
    let err = audience
        .ingest_json(r#"{"type":"track","userId":"a","event":"x","timestamp":"yesterday"}"#)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "message: `timestamp` is \"yesterday\", not an ISO 8601 instant"
    );
    let err = audience.ingest_json("{not json").unwrap_err();
    assert!(err.to_string().starts_with("message: not JSON ("), "{err}");
    assert!(audience.is_empty());
    let done = audience
        .ingest_json(
            r#"{"type":"track","userId":7,"event":"x","timestamp":"2024-01-01T00:00:00Z"}"#,
        )
        .unwrap();
    assert_eq!(done.id, "7");
}

#[test]
fn touches_do_not_depend_on_arrival_order() {
    let visit = |source: &str, at: &str| {
        json!({"type":"page","anonymousId":"v","timestamp":at,
               "properties":{"url":format!("https://s.example/?utm_source={source}")}})
    };
    let messages = [
        visit("b", "2024-06-02T00:00:00Z"),
        visit("a", "2024-06-01T00:00:00Z"),
        visit("c", "2024-06-03T00:00:00Z"),
    ];
    let now = ts("2024-07-01T00:00:00Z");
    let mut orders = vec![[0, 1, 2], [2, 1, 0], [1, 2, 0]];
    for order in orders.drain(..) {
        let mut audience = Audience::new();
        for i in order {
            audience.ingest_message(&messages[i]).unwrap();
        }
        let p = audience.profile("v").unwrap();
        assert_eq!(p.attributes["first_touch_source"], "a".into());
        assert_eq!(p.attributes["last_touch_source"], "c".into());
        let q = audience
            .predicate("first_touch_at < last_touch_at")
            .unwrap_or_else(|_| audience.predicate("did page").unwrap());
        assert_eq!(audience.count(&q, now).unwrap(), 1);
    }
}

#[test]
fn a_merge_keeps_the_users_values_and_both_histories() {
    let mut audience = Audience::new();
    let t = |m: &str| format!("2024-06-01T{m}:00Z");
    for m in [
        json!({"type":"identify","anonymousId":"anon","traits":{"plan":"free","city":"Oslo"},"timestamp":t("10:00")}),
        json!({"type":"track","anonymousId":"anon","event":"view","timestamp":t("10:01")}),
        json!({"type":"identify","userId":"u","traits":{"plan":"pro"},"context":{"consent":{"categoryPreferences":{"email":false}}},"timestamp":t("10:02")}),
        json!({"type":"identify","userId":"anon","context":{"consent":{"categoryPreferences":{"email":true}}},"timestamp":t("10:03")}),
        json!({"type":"alias","previousId":"anon","userId":"u","timestamp":t("10:04")}),
        json!({"type":"track","anonymousId":"anon","event":"buy","timestamp":t("10:05")}),
    ] {
        audience.ingest_message(&m).unwrap();
    }
    assert!(audience.profile("anon").is_none());
    let u = audience.profile("u").unwrap();
    assert_eq!(u.attributes["plan"], "pro".into());
    assert_eq!(u.attributes["city"], "Oslo".into());
    assert_eq!(
        u.attributes["merged_ids"],
        segcore::Value::List(vec!["anon".into()])
    );
    let names: Vec<&str> = u.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["view", "buy"]);
    assert!(u.consent["email"].granted, "the newer decision wins");

    // The alias survives a reload: it is kept in `merged_ids`.
    let mut reloaded = Audience::from_bytes(&audience.to_bytes()).unwrap();
    reloaded
        .ingest_message(
            &json!({"type":"track","userId":"anon","event":"again","timestamp":t("11:00")}),
        )
        .unwrap();
    assert!(reloaded.profile("anon").is_none());
    assert_eq!(reloaded.profile("u").unwrap().events.len(), 3);

    // Erasing the user forgets its aliases: a message under the old id starts a new profile.
    reloaded.erase("u").unwrap();
    reloaded
        .ingest_message(
            &json!({"type":"track","userId":"anon","event":"new","timestamp":t("12:00")}),
        )
        .unwrap();
    assert_eq!(reloaded.profile("anon").unwrap().events.len(), 1);
}

/// A reader of `prefix`, then `size` bytes of `x`, then `suffix`, made on the fly.
struct Huge {
    prefix: &'static [u8],
    size: u64,
    suffix: &'static [u8],
    at: u64,
}

impl Read for Huge {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let p = self.prefix.len() as u64;
        let (n, source): (usize, Option<&[u8]>) = if self.at < p {
            let rest = &self.prefix[self.at as usize..];
            (rest.len().min(buf.len()), Some(rest))
        } else if self.at < p + self.size {
            (
                (p + self.size - self.at).min(buf.len() as u64) as usize,
                None,
            )
        } else {
            let rest =
                &self.suffix[(self.at - p - self.size).min(self.suffix.len() as u64) as usize..];
            (rest.len().min(buf.len()), Some(rest))
        };
        match source {
            Some(bytes) => buf[..n].copy_from_slice(&bytes[..n]),
            None => buf[..n].fill(b'x'),
        }
        self.at += n as u64;
        Ok(n)
    }
}

impl Seek for Huge {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match pos {
            SeekFrom::Start(0) => self.at = 0,
            SeekFrom::Current(0) => {}
            other => panic!("unexpected {other:?}"),
        }
        Ok(self.at)
    }
}

#[test]
fn a_gigabyte_line_is_rejected_without_being_held() {
    let size: u64 = if cfg!(debug_assertions) {
        1 << 28
    } else {
        1 << 30
    };
    let huge = Huge {
        prefix: b"{\"type\":\"track\",\"userId\":\"a\",\"event\":\"",
        size,
        suffix: b"\"}\n{\"type\":\"track\",\"userId\":\"b\",\"event\":\"x\",\"timestamp\":\"2024-01-01T00:00:00Z\"}\n",
        at: 0,
    };
    let mut audience = Audience::new();
    let report = audience
        .ingest_jsonl(
            std::io::BufReader::with_capacity(1 << 16, huge),
            "huge",
            &IngestOptions::default(),
        )
        .unwrap();
    assert_eq!((report.read, report.loaded, report.rejected), (2, 1, 1));
    let reason = &report.rejections[0];
    assert_eq!(reason.line, 1);
    assert_eq!(
        reason.reason,
        format!(
            "the line is {} bytes, longer than the limit of 1048576",
            size + 40
        )
    );
}

#[test]
fn contacts_need_their_id_column() {
    let refusal = |csv: &'static str, name: &str| {
        Audience::new()
            .load_contacts(
                Cursor::new(csv),
                name,
                &ContactMapping::new("Email"),
                ts("2024-01-01T00:00:00Z"),
                &IngestOptions::default(),
            )
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refusal("E-mail,Name\na@x,A\n", "list.csv"),
        "list.csv, line 1: no column \"Email\" (did you mean \"E-mail\"?); the header has \"E-mail\", \"Name\""
    );
    assert_eq!(
        refusal("", "empty.csv"),
        "empty.csv, line 1: the file is empty: expected a header row"
    );
}
