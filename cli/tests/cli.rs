//! The `segcore` binary, run as a user runs it: every subcommand, its output, and its exit
//! code (0 ok, 1 failed, 2 bad usage). Imports use the shared corpus in `testdata/ingest/`,
//! with the counts its `expected.json` holds for every binding.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value as Json;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/ingest")
}

fn expected() -> Json {
    serde_json::from_str(&std::fs::read_to_string(corpus().join("expected.json")).unwrap()).unwrap()
}

fn segcore(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("segcore").unwrap();
    cmd.arg("--dir").arg(dir);
    cmd
}

/// A directory holding the corpus: its messages, then its contacts.
fn loaded() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let want = expected();
    segcore(dir.path())
        .args(["import", "--max-line-bytes", "1024"])
        .arg(corpus().join("messages.jsonl"))
        .assert()
        .success();
    segcore(dir.path())
        .args([
            "import",
            "--preset",
            "mailchimp",
            "--subscribed",
            "email",
            "--at",
        ])
        .arg(want["contacts"]["at"].as_str().unwrap())
        .arg(corpus().join("contacts.csv"))
        .assert()
        .success();
    dir
}

#[test]
fn import_reports_exact_counts_and_each_rejection() {
    let dir = tempfile::tempdir().unwrap();
    let want = expected();
    for (key, extra) in [
        ("messages", vec!["--max-line-bytes", "1024"]),
        (
            "contacts",
            vec![
                "--preset",
                "mailchimp",
                "--subscribed",
                "email",
                "--at",
                "2024-06-01T00:00:00Z",
            ],
        ),
    ] {
        let w = &want[key];
        let file = corpus().join(w["file"].as_str().unwrap());
        let mut summary = format!(
            "{}: read {}, loaded {}, rejected {}",
            file.display(),
            w["read"],
            w["loaded"],
            w["rejected"]
        );
        if w["merged"].as_u64() > Some(0) {
            summary += &format!(", merged {} profiles", w["merged"]);
        }
        let mut rejections = String::new();
        for r in w["rejections"].as_array().unwrap() {
            rejections += &format!("{}:{}: {}\n", file.display(), r[0], r[1].as_str().unwrap());
        }
        segcore(dir.path())
            .arg("import")
            .args(extra)
            .arg(&file)
            .assert()
            .success()
            .stdout(predicate::str::starts_with(summary))
            .stderr(rejections);
    }
}

#[test]
fn a_strict_import_fails_whole() {
    let dir = tempfile::tempdir().unwrap();
    segcore(dir.path())
        .args(["import", "--strict", "--max-line-bytes", "1024"])
        .arg(corpus().join("messages.jsonl"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "messages.jsonl, line 14: no `userId` or `anonymousId`",
        ));
    segcore(dir.path())
        .args(["count", "tag \"x\""])
        .assert()
        .success()
        .stdout("0\n");
}

#[test]
fn import_needs_a_mapping_for_csv_and_a_known_format() {
    let dir = tempfile::tempdir().unwrap();
    segcore(dir.path())
        .arg("import")
        .arg(corpus().join("contacts.csv"))
        .assert()
        .code(1)
        .stderr("error: a CSV import needs --preset (mailchimp, klaviyo) or --id COLUMN\n");
    segcore(dir.path())
        .args(["import", "--preset", "mailchimpp"])
        .arg(corpus().join("contacts.csv"))
        .assert()
        .code(1)
        .stderr("error: unknown contact preset `mailchimpp` (did you mean `mailchimp`?)\n");
    segcore(dir.path())
        .args(["import", "notes.txt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot tell the format"));
}

#[test]
fn define_reads_a_segments_file_and_points_at_mistakes() {
    let dir = loaded();
    let file = dir.path().join("segments.txt");
    std::fs::write(
        &file,
        "# refers to a later one\nbuyers_in_eur =\n    segment buyers and did `Order Completed` where currency == \"EUR\"\nbuyers = did `Order Completed`\nvips = tag \"VIP\"\n",
    )
    .unwrap();
    segcore(dir.path())
        .arg("define")
        .arg(&file)
        .assert()
        .success()
        .stdout("defined buyers\ndefined buyers_in_eur\ndefined vips\n");
    segcore(dir.path())
        .args(["sizes", "--now", "2024-06-02T00:00:00Z"])
        .assert()
        .success()
        .stdout(predicate::str::contains("buyers_in_eur").and(predicate::str::contains("vips")));

    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "ok = tag \"x\"\nbroken =\n    tag \"x\" and and\n").unwrap();
    segcore(dir.path())
        .arg("define")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("bad.txt:3:17: segment `broken`: expected").and(
                predicate::str::ends_with(
                    "found `and`\n      tag \"x\" and and\n                  ^\n",
                ),
            ),
        );
    let unknown = dir.path().join("unknown.txt");
    std::fs::write(&unknown, "typo = plann == \"pro\"\n").unwrap();
    segcore(dir.path())
        .arg("define")
        .arg(&unknown)
        .assert()
        .code(1)
        .stderr("error: unknown.txt:1: segment `typo`: unknown attribute `plann` (did you mean `plan`?)\n".replace("unknown.txt", &unknown.display().to_string()));

    // A later mistake defines nothing of the file (docs/cli.md's example left `vips` defined),
    // and a circle is named.
    let late = dir.path().join("late.txt");
    std::fs::write(&late, "vips2 = tag \"VIP\"\nlapsed2 = plann == \"x\"\n").unwrap();
    segcore(dir.path())
        .arg("define")
        .arg(&late)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(":2: segment `lapsed2`"));
    let circle = dir.path().join("circle.txt");
    std::fs::write(&circle, "a = segment b\nb = segment a\nc = tag \"x\"\n").unwrap();
    segcore(dir.path())
        .arg("define")
        .arg(&circle)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "segment reference cycle: a -> b -> a",
        ));
    segcore(dir.path())
        .args(["sizes", "--now", "2024-06-02T00:00:00Z"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("vips2")
                .not()
                .and(predicate::str::contains("\nc ").not()),
        );
}

/// How many batches a journal holds: frames with the batch bit whose payload is the
/// `EndBatch` record (variant 18, one byte).
fn batches_in(journal: &Path) -> usize {
    let journal = std::fs::read(journal).unwrap();
    let mut at = 24;
    let mut ends = 0;
    while at + 8 <= journal.len() {
        let length = u32::from_le_bytes(journal[at..at + 4].try_into().unwrap());
        let len = (length & !(1 << 31)) as usize;
        if length & (1 << 31) != 0 && len == 1 && journal[at + 8] == 18 {
            ends += 1;
        }
        at += 8 + len;
    }
    ends
}

/// 20,000 definitions in one file: one journal batch (one fsync), not one per segment.
#[test]
fn define_writes_a_large_file_as_one_batch() {
    let dir = loaded();
    let file = dir.path().join("many.txt");
    let text: String = (0..20_000)
        .map(|i| format!("s{i} = tag \"t{i}\"\n"))
        .collect();
    std::fs::write(&file, text).unwrap();
    let journal = dir.path().join("journal");
    let before = batches_in(&journal);
    let started = std::time::Instant::now();
    segcore(dir.path())
        .arg("define")
        .arg(&file)
        .assert()
        .success();
    eprintln!("20,000 definitions: {:?}", started.elapsed());
    assert_eq!(
        batches_in(&journal),
        before + 1,
        "one batch for the whole file"
    );
}

#[test]
fn count_members_and_sample_answer_like_the_library() {
    let dir = loaded();
    let want = expected();
    for q in want["queries"].as_array().unwrap() {
        let members: Vec<&str> = q["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        let now = q["now"].as_str().unwrap();
        let predicate = q["predicate"].as_str().unwrap();
        segcore(dir.path())
            .args(["count", predicate, "--now", now])
            .assert()
            .success()
            .stdout(format!("{}\n", members.len()));
        let out = segcore(dir.path())
            .args(["members", predicate, "--now", now])
            .assert()
            .success();
        let mut got: Vec<String> = String::from_utf8(out.get_output().stdout.clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        got.sort();
        assert_eq!(got, members, "{predicate}");
    }
    let sample = |seed: &str| {
        let out = segcore(dir.path())
            .args([
                "sample",
                "consent email",
                "-n",
                "3",
                "--seed",
                seed,
                "--now",
                "2024-06-02T00:00:00Z",
            ])
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    assert_eq!(sample("4").lines().count(), 3);
    assert_eq!(sample("4"), sample("4"));
    segcore(dir.path())
        .args([
            "members",
            "consent email",
            "--limit",
            "2",
            "--now",
            "2024-06-02T00:00:00Z",
        ])
        .assert()
        .success()
        .stdout(predicate::function(|s: &str| s.lines().count() == 2));
}

#[test]
fn a_bad_predicate_is_shown_with_a_caret() {
    let dir = loaded();
    segcore(dir.path())
        .args(["count", "tag \"VIP\" and and"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with(
                "error: syntax error at line 1, column 15: expected a condition",
            )
            .and(predicate::str::ends_with(
                "found `and`\n  tag \"VIP\" and and\n                ^\n",
            )),
        );
}

#[test]
fn export_leaves_out_who_has_not_consented() {
    let dir = loaded();
    let out = dir.path().join("list.csv");
    let suppress = dir.path().join("bounces.txt");
    std::fs::write(&suppress, "DEE@example.com\n").unwrap();
    segcore(dir.path())
        .args(["export", "email exists", "--channel", "email", "--columns", "id,email", "--now", "2024-06-02T00:00:00Z", "-o"])
        .arg(&out)
        .arg("--suppress")
        .arg(&suppress)
        .assert()
        .success()
        .stderr("7 members, 5 exported; left out: 1 withdrew consent, 0 never gave consent, 1 suppressed\n");
    // cy withdrew consent by message; dee@example.com is on the suppression list.
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "id,email\nada,ada@example.com\nbob,bob@example.com\nada@example.com,ada@example.com\n\
         bob@example.com,bob@example.com\ncy@example.com,cy@example.com\n"
    );
    // A profile that never decided is left out too.
    segcore(dir.path())
        .args(["export", "did `Order Completed`", "--now", "2024-06-02T00:00:00Z"])
        .assert()
        .success()
        .stdout("id\nada\nbob\n")
        .stderr("4 members, 2 exported; left out: 1 withdrew consent, 1 never gave consent, 0 suppressed\n");
    segcore(dir.path())
        .args([
            "export",
            "email exists",
            "--format",
            "jsonl",
            "--columns",
            "id,plan",
            "--now",
            "2024-06-02T00:00:00Z",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "{\"id\":\"ada\",\"plan\":\"pro\"}\n",
        ));
    segcore(dir.path())
        .args(["export", "email exists", "--channel", "emial"])
        .assert()
        .code(1)
        .stderr("error: unknown consent channel `emial` (did you mean `email`?)\n");
}

/// CSV formulas are neutralised unless `--keep-formulas`; `-o` never writes through a link.
#[cfg(unix)]
#[test]
fn export_neutralises_formulas_and_refuses_links() {
    let dir = tempfile::tempdir().unwrap();
    let messages = dir.path().join("m.jsonl");
    std::fs::write(
        &messages,
        concat!(
            r#"{"type":"identify","userId":"eve","traits":{"firstName":"=HYPERLINK(\"x\")"},"#,
            r#""timestamp":"2024-06-01T00:00:00Z","context":{"consent":{"categoryPreferences":{"email":true}}}}"#,
            "\n"
        ),
    )
    .unwrap();
    segcore(dir.path())
        .arg("import")
        .arg(&messages)
        .assert()
        .success();
    let export = |extra: &[&str]| {
        let out = segcore(dir.path())
            .args([
                "export",
                "consent email",
                "--columns",
                "id,firstName",
                "--now",
                "2024-06-02T00:00:00Z",
            ])
            .args(extra)
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    assert_eq!(
        export(&[]),
        "id,firstName\neve,\"'=HYPERLINK(\"\"x\"\")\"\n"
    );
    assert_eq!(
        export(&["--keep-formulas"]),
        "id,firstName\neve,\"=HYPERLINK(\"\"x\"\")\"\n"
    );
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = dir.path().join("list.csv");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    segcore(dir.path())
        .args(["export", "consent email", "-o"])
        .arg(&link)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("symbolic link"));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn why_explains_clause_by_clause() {
    let dir = loaded();
    segcore(dir.path())
        .args([
            "why",
            "ada",
            "plan == \"pro\" and consent sms",
            "--now",
            "2024-06-02T00:00:00Z",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "ada is not in plan == \"pro\" and consent sms:\n",
        ))
        .stdout(
            predicate::str::contains("✓ plan == \"pro\"")
                .and(predicate::str::contains("✗ consent sms")),
        );
    segcore(dir.path())
        .args(["why", "nobody", "plan exists"])
        .assert()
        .code(1)
        .stderr("error: unknown profile `nobody`\n");
}

#[test]
fn advise_reviews_the_catalog() {
    let dir = loaded();
    let file = dir.path().join("segments.txt");
    std::fs::write(
        &file,
        "pros = plan == \"pro\"\nnobody = plan == \"enterprise\"\n",
    )
    .unwrap();
    segcore(dir.path())
        .arg("define")
        .arg(&file)
        .assert()
        .success();
    segcore(dir.path())
        .args([
            "advise",
            "--converts",
            "did `Order Completed`",
            "--now",
            "2024-06-01T00:00:00Z",
            "--at",
            "2024-06-02T00:00:00Z",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("empty")
                .and(predicate::str::contains("`nobody` has no members")),
        );
    segcore(dir.path())
        .args([
            "advise",
            "--sum",
            "Order Completed.revenue",
            "--from",
            "2024-06-01T00:00:00Z",
            "--to",
            "2024-06-02T00:00:00Z",
            "--now",
            "2024-06-01T00:00:00Z",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("too_small"));
    segcore(dir.path())
        .args(["advise", "--sum", "x.y"])
        .assert()
        .code(2);
}

#[test]
fn watch_prints_transitions_as_events_arrive_and_time_passes() {
    let dir = loaded();
    let file = dir.path().join("segments.txt");
    std::fs::write(&file, "recent_buyers = did `Order Completed` in last 1d\n").unwrap();
    segcore(dir.path())
        .arg("define")
        .arg(&file)
        .assert()
        .success();
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        "{\"type\":\"track\",\"userId\":\"ada\",\"event\":\"Order Completed\",\"properties\":{\"revenue\":5},\"timestamp\":\"2024-06-03T10:00:00Z\"}\nnot json\n",
    )
    .unwrap();
    segcore(dir.path())
        .args([
            "watch",
            "--from",
            "2024-06-03T00:00:00Z",
            "--to",
            "2024-06-05T00:00:00Z",
            "--events",
        ])
        .arg(&events)
        .assert()
        .success()
        .stdout(
            "watching 1 segments from 2024-06-03T00:00:00Z\n\
             2024-06-03T10:00:00Z  entered recent_buyers  ada\n\
             2024-06-04T10:00:00.000000001Z  left    recent_buyers  ada\n",
        )
        .stderr(predicate::str::contains("events.jsonl:2: not JSON"));
    // From standard input, as `tail -f events.jsonl | segcore watch --events -` does.
    segcore(dir.path())
        .args(["watch", "--from", "2024-06-10T00:00:00Z", "--events", "-"])
        .write_stdin("{\"type\":\"track\",\"userId\":\"bob\",\"event\":\"Order Completed\",\"timestamp\":\"2024-06-10T01:00:00Z\"}\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("entered recent_buyers  bob"));
}

#[test]
fn demo_walks_through_the_main_job() {
    Command::cargo_bin("segcore")
        .unwrap()
        .args(["demo", "--customers", "300"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("== 1. A sample shop of 300 customers")
                .and(predicate::str::contains("== 5. A consent-safe export"))
                .and(predicate::str::contains("== 7. The advisor")),
        );
}

/// A demo size typed wrong is a usage error, not hours of work; an interrupted demo removes
/// its temporary directory.
#[cfg(unix)]
#[test]
fn demo_refuses_absurd_sizes_and_cleans_up_when_interrupted() {
    use std::io::BufRead;
    for size in ["1000000000000", "0", "1000001"] {
        Command::cargo_bin("segcore")
            .unwrap()
            .args(["demo", "--customers", size])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--customers"));
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("segcore"))
        .args(["demo", "--customers", "1000000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let dir = loop {
        let line = lines.next().expect("the demo names its directory").unwrap();
        if let Some((_, dir)) = line.split_once(", kept in ") {
            break PathBuf::from(dir);
        }
    };
    // Wait until the audience is being written, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !dir.join("journal").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the demo never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[test]
fn usage_errors_exit_with_two_and_failures_with_one() {
    let dir = tempfile::tempdir().unwrap();
    segcore(dir.path()).arg("frobnicate").assert().code(2);
    segcore(dir.path()).arg("count").assert().code(2);
    segcore(dir.path())
        .args(["count", "x", "--now", "yesterday"])
        .assert()
        .code(2);
    segcore(dir.path()).arg("--help").assert().success();
    segcore(&dir.path().join("nothing-here"))
        .args(["count", "tag \"x\""])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("holds no audience"));
}
