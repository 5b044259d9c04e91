//! What each fuzz target checks on one input, shared by the targets in `fuzz_targets/` and by
//! `segcore/tests/fuzz_regressions.rs`, which replays the inputs committed under
//! `fuzz/regressions/<target>/` (minimized crashes, and seeds) on every CI run. Needs the
//! `framing` and `grammar` modules beside it at the crate root.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use segcore::Audience;

use crate::{framing, grammar};

/// `from_bytes`: the first byte picks the framing (a version-3 image whose sections are the
/// rest, a version-2 or version-1 body, or the raw bytes). An audience or a typed error; what
/// loads writes out and loads again to the same image.
pub fn from_bytes(input: &[u8]) {
    let (first, body) = input.split_first().unwrap_or((&0, &[]));
    let bytes = match first % 4 {
        0 => framing::version_3(body),
        1 => framing::legacy(b"SEGCORE2", body),
        2 => framing::legacy(b"SEGCORE1", body),
        _ => body.to_vec(),
    };
    if let Ok(audience) = Audience::from_bytes(&bytes) {
        let again = Audience::from_bytes(&audience.to_bytes()).expect("a written image loads");
        assert_eq!(again.to_bytes(), audience.to_bytes());
    }
}

/// A scratch directory for the directory targets (in memory where the system has /dev/shm).
pub fn scratch(name: &str) -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("segcore-fuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `snapshot`: the input as a version-3 snapshot (right checksums) beside an empty journal of
/// generation 0, opened through `Audience::open`. An audience or a typed error; what opens
/// compacts, and opens again to the same audience.
pub fn snapshot(dir: &Path, input: &[u8]) {
    std::fs::write(dir.join("snapshot"), framing::version_3(input)).unwrap();
    std::fs::write(dir.join("journal"), framing::journal(&[], 0)).unwrap();
    let Ok(audience) = Audience::open(dir) else {
        return;
    };
    let image = audience.to_bytes();
    audience
        .compact()
        .expect("an audience that opened compacts");
    drop(audience);
    let again = Audience::open(dir).expect("a compacted directory opens");
    assert_eq!(again.to_bytes(), image);
}

/// `journal`: an empty snapshot of generation 0 and the input as its journal, framed right
/// (first byte even) or raw after a valid header (odd). An audience or a typed error; when it
/// opens, the file is cut to what was replayed, and opening again cuts nothing more and gives
/// the same audience.
pub fn journal(dir: &Path, input: &[u8]) {
    if !dir.join("snapshot").exists() {
        // An empty snapshot of generation 0, as opening a new directory writes it.
        drop(Audience::open(dir).expect("a new directory opens"));
    }
    let (first, body) = input.split_first().unwrap_or((&0, &[]));
    let journal = if first & 1 == 0 {
        framing::journal(body, 0)
    } else {
        let mut bytes = framing::header(b"SEGJRNL\0", 0).to_vec();
        bytes.extend_from_slice(body);
        bytes
    };
    std::fs::write(dir.join("journal"), &journal).unwrap();
    let audience = match Audience::open(dir) {
        Ok(audience) => audience,
        Err(e) if e.to_string().contains("intact frames") => {
            // Damage before the end: refused, nothing cut; a point-in-time recovery opens,
            // and keeps every byte it cuts.
            assert_eq!(std::fs::read(dir.join("journal")).unwrap(), journal);
            let recovered = segcore::OpenOptions::new()
                .recover(segcore::Recover::PointInTime)
                .open(dir)
                .expect("a point-in-time recovery opens a damaged journal");
            let report = recovered.open_report().unwrap().clone();
            drop(recovered);
            let aside = report.set_aside.expect("the cut bytes are kept");
            let kept = std::fs::metadata(dir.join("journal")).unwrap().len() as usize;
            assert_eq!(std::fs::read(&aside).unwrap(), &journal[kept..]);
            std::fs::remove_file(aside).unwrap();
            return;
        }
        Err(_) => return,
    };
    let report = audience.open_report().unwrap().clone();
    let image = audience.to_bytes();
    drop(audience);
    let kept = std::fs::metadata(dir.join("journal")).unwrap().len();
    assert_eq!(kept + report.bytes_cut, journal.len() as u64);
    let again = Audience::open(dir).expect("a directory that opened opens again");
    assert_eq!(again.open_report().unwrap().bytes_cut, 0);
    assert_eq!(
        again.open_report().unwrap().records_replayed,
        report.records_replayed
    );
    assert_eq!(again.to_bytes(), image);
}

/// `differential`: the first byte picks the `now` and how many of the following bytes build a
/// random audience; the rest drives a grammar predicate. Every query path equals the reference.
pub fn differential(input: &[u8]) {
    let (first, rest) = input.split_first().unwrap_or((&0, &[]));
    let now = grammar::nows()[usize::from(first & 3)];
    let split = (usize::from(first >> 2) * 4).min(rest.len());
    let (audience_bytes, predicate_bytes) = rest.split_at(split);
    let audience = grammar::random_audience(audience_bytes);
    grammar::evaluate_at(
        &audience,
        &grammar::predicate_text(predicate_bytes),
        now,
        false,
    );
}

/// `evaluate`: the first byte picks the `now` and whether the predicate also goes through a
/// defined segment and an image; the rest drives a grammar predicate on the edge audience.
pub fn evaluate(audience: &Audience, input: &[u8]) {
    let (first, rest) = input.split_first().unwrap_or((&0, &[]));
    let now = grammar::nows()[usize::from(first & 3)];
    let image = first & 0x3c == 0;
    grammar::evaluate_at(audience, &grammar::predicate_text(rest), now, image);
}

/// `ingest`: the input as a JSONL stream of Segment-spec messages (lines of at most 4 KiB).
/// Every line read is loaded or rejected; a load that must fail whole either loads exactly what
/// the skipping load did (nothing was bad) or fails with an input error and changes nothing.
pub fn ingest(input: &[u8]) {
    use segcore::ingest::{IngestOptions, OnError};
    let skip = IngestOptions {
        max_line_bytes: 4096,
        ..IngestOptions::default()
    };
    let mut audience = Audience::new();
    let report = audience
        .ingest_jsonl(std::io::Cursor::new(input), "fuzz", &skip)
        .expect("an in-memory load fails only on its input");
    assert_eq!(report.read, report.loaded + report.rejected);
    let strict = IngestOptions {
        on_error: OnError::Fail,
        ..skip
    };
    all_or_nothing(&audience, report.rejected, |a| {
        a.ingest_jsonl(std::io::Cursor::new(input), "fuzz", &strict)
            .map(drop)
    });
}

/// `contacts`: the first byte picks a mapping (Mailchimp, Klaviyo, or columns of every type);
/// the rest is the CSV. The same invariants as `ingest`.
pub fn contacts(input: &[u8]) {
    use segcore::ingest::{ContactMapping, IngestOptions, OnError};
    use segcore::AttrType;
    let (first, csv) = input.split_first().unwrap_or((&0, &[]));
    let mapping = match first % 3 {
        0 => ContactMapping::preset("mailchimp")
            .expect("a preset")
            .consent_for_every_row("email", true),
        1 => ContactMapping::preset("klaviyo").expect("a preset"),
        _ => ContactMapping::new("id")
            .attribute("n", "n", AttrType::Number)
            .attribute("b", "b", AttrType::Bool)
            .attribute("t", "t", AttrType::Timestamp)
            .attribute("l", "l", AttrType::List)
            .tags("tags", ";")
            .consent("c", "email"),
    };
    let at: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().expect("an instant");
    let mut audience = Audience::new();
    let Ok(report) = audience.load_contacts(
        std::io::Cursor::new(csv),
        "fuzz.csv",
        &mapping,
        at,
        &IngestOptions::default(),
    ) else {
        // A header without the id column (or no header): refused before any row.
        assert!(audience.is_empty());
        return;
    };
    assert_eq!(report.read, report.loaded + report.rejected);
    let strict = IngestOptions {
        on_error: OnError::Fail,
        ..IngestOptions::default()
    };
    all_or_nothing(&audience, report.rejected, |a| {
        a.load_contacts(std::io::Cursor::new(csv), "fuzz.csv", &mapping, at, &strict)
            .map(drop)
    });
}

/// A failing load on a new audience: with nothing rejected it gives `skipped`'s audience,
/// else an input error and an empty audience.
fn all_or_nothing(
    skipped: &Audience,
    rejected: u64,
    load: impl FnOnce(&mut Audience) -> segcore::Result<()>,
) {
    let mut strict = Audience::new();
    match load(&mut strict) {
        Ok(()) => {
            assert_eq!(rejected, 0, "a failing load loaded despite a bad input");
            assert_eq!(strict.to_bytes(), skipped.to_bytes());
        }
        Err(e) => {
            assert_eq!(e.kind(), "input", "{e}");
            assert!(
                rejected > 0,
                "a failing load failed on an input the skipping load took"
            );
            assert_eq!(strict.to_bytes(), Audience::new().to_bytes());
        }
    }
}
