//! Durable directories: every write that returned comes back after reopening, a torn journal
//! tail is cut and reported, compaction is atomic and forgets erased profiles, a second writer
//! is locked out, and old directories still open.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{audience_strategy, build, now, populate, valid_predicate};
use jiff::Timestamp;
use proptest::prelude::*;
use segcore::{AttrType, Audience, Decision, Event, OpenOptions, Recover, Sync};

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("segcore-durable-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// One of every kind of write, declarations and definitions included.
fn every_kind_of_write(a: &mut Audience) {
    a.set_time_zone("Europe/Stockholm").unwrap();
    a.declare_attribute("age", AttrType::Number).unwrap();
    a.declare_event("refund").unwrap();
    a.declare_event_property("purchase", "sku", AttrType::String)
        .unwrap();
    a.declare_tag_namespace("interest").unwrap();
    a.declare_channel("whatsapp").unwrap();
    a.upsert("ada", [("age", 36.into()), ("country", "SE".into())])
        .unwrap();
    a.upsert_tagged(
        "bo",
        [("age", 17.into())],
        &["vip".to_owned(), "interest:running".to_owned()],
        t("2024-05-01T00:00:00Z"),
    )
    .unwrap();
    a.unset("ada", "country").unwrap();
    a.tag("ada", "vip", t("2024-05-02T00:00:00Z")).unwrap();
    a.untag("bo", "vip").unwrap();
    a.track(
        "ada",
        Event::new("purchase", t("2024-05-30T10:00:00.123456789Z"))
            .value("amount", 120.5)
            .property("sku", "A-1"),
    )
    .unwrap();
    a.set_consent("ada", "email", true, t("2024-01-01T00:00:00Z"))
        .unwrap();
    a.upsert("cy", [("age", 50.into())]).unwrap();
    a.erase("cy").unwrap();
    a.define_segment("adults", a.predicate("age >= 18").unwrap())
        .unwrap();
    a.define_segment("vips", a.predicate(r#"tag "vip""#).unwrap())
        .unwrap();
    a.define_segment("gone", a.predicate("did refund").unwrap())
        .unwrap();
    a.remove_segment("gone").unwrap();
    let d = Decision::from_json(
        r#"{"rules": [{"segment": "vips", "variant": "a"}], "default": "b",
            "variants": {"a": {"template": "Hej {{ id }}"}, "b": {}}}"#,
    )
    .unwrap();
    a.define_decision("hero", d.clone()).unwrap();
    a.define_decision("old", d).unwrap();
    a.remove_decision("old").unwrap();
}

#[test]
fn every_write_comes_back_after_reopening() {
    let dir = scratch("every");
    let mut memory = Audience::new();
    every_kind_of_write(&mut memory);
    let mut durable = Audience::open(&dir).unwrap();
    every_kind_of_write(&mut durable);
    // Dropped without close, as a crash would leave it (every write was synced on return).
    drop(durable);

    let mut reopened = Audience::open(&dir).unwrap();
    let report = reopened.open_report().unwrap().clone();
    assert_eq!(report.records_replayed, 22, "{report}");
    assert_eq!(report.bytes_cut, 0);
    assert_eq!(report.generation, 0);
    assert_eq!(reopened.to_bytes(), memory.to_bytes());
    assert_eq!(reopened.time_zone(), "Europe/Stockholm");
    assert_eq!(
        reopened
            .members(&segcore::Predicate::segment("vips"), now())
            .unwrap(),
        ["ada"]
    );
    // Compacted, it is the same audience with an empty journal.
    reopened.compact().unwrap();
    assert_eq!(reopened.generation(), Some(1));
    reopened.close().unwrap();
    assert_eq!(
        fs::metadata(dir.join("journal")).unwrap().len(),
        34,
        "a fresh journal is its header and the marker it starts with (8 + 2 bytes)"
    );
    let again = Audience::open(&dir).unwrap();
    assert_eq!(again.open_report().unwrap().records_replayed, 0);
    assert_eq!(again.open_report().unwrap().snapshot_profiles, 2);
    assert_eq!(again.to_bytes(), memory.to_bytes());
    drop(again);
    fs::remove_dir_all(&dir).unwrap();
}

/// Runs of tracked events are replayed through the bulk load; what reopens is what the
/// writes made one by one: events tied in time in arrival order, a profile erased and
/// created again between events, writes of other kinds between runs, a property whose type
/// differs between event names (written on its own), events in a batch.
#[test]
fn tracked_events_replay_in_bulk_as_they_were_written() {
    let dir = scratch("bulk-replay");
    let mut memory = Audience::new();
    let mut durable = Audience::open_with(&dir, Sync::Never).unwrap();
    let at = |h: i64| Timestamp::from_second(1_700_000_000 + (h % 7) * 3_600).unwrap();
    for a in [&mut memory, &mut durable] {
        for i in 0..200i64 {
            let id = format!("p{}", i % 9);
            let event = match i % 5 {
                0 => Event::new("view", at(i)).property("x", format!("page{}", i % 3)),
                1 => Event::new("view", at(i)),
                _ => Event::new("buy", at(i)).value("x", (i % 11) as f64),
            };
            a.track(&id, event).unwrap();
            if i % 37 == 36 {
                a.erase("p3").unwrap();
                a.upsert("p3", [("age", 40.into())]).unwrap();
            }
            if i == 120 {
                a.batch(|a| {
                    a.track("p0", Event::new("buy", at(1)).value("x", 1.5))?;
                    a.track("new", Event::new("view", at(1)))?;
                    a.tag("new", "vip", at(2))
                })
                .unwrap()
                .1
                .wait()
                .unwrap();
            }
        }
    }
    durable.flush().unwrap();
    drop(durable);
    let reopened = Audience::open(&dir).unwrap();
    assert_eq!(reopened.open_report().unwrap().records_replayed, 213);
    for id in ["p0", "p3", "p8", "new"] {
        assert_eq!(reopened.profile(id), memory.profile(id), "{id}");
    }
    assert_eq!(reopened.to_bytes(), memory.to_bytes());
    drop(reopened);
    fs::remove_dir_all(&dir).unwrap();
}

/// A gathered event the audience refuses on replay names its own record's offset: a journal
/// spliced from two directories, where the second's string `x` meets the first's declaration
/// of `x` as a number after two good events.
#[test]
fn a_tracked_event_refused_on_replay_names_its_offset() {
    let (first, second) = (scratch("refused-first"), scratch("refused-second"));
    let mut a = Audience::open(&first).unwrap();
    a.declare_event_property("buy", "x", AttrType::Number)
        .unwrap();
    drop(a);
    let mut b = Audience::open(&second).unwrap();
    b.track("ada", Event::new("buy", now())).unwrap();
    b.track("bo", Event::new("buy", now()).value("y", 2.0))
        .unwrap();
    b.track("ada", Event::new("buy", now()).property("x", "one"))
        .unwrap();
    drop(b);
    let mut journal = fs::read(first.join("journal")).unwrap();
    let theirs = fs::read(second.join("journal")).unwrap();
    // Their records after the marker each journal starts with.
    let (start, _, _) = frames(&theirs)[1];
    let offset = journal.len() + frames(&theirs).last().unwrap().0 - start;
    journal.extend_from_slice(&theirs[start..]);
    fs::write(first.join("journal"), &journal).unwrap();
    let error = Audience::open(&first).unwrap_err();
    assert_eq!(error.kind(), "corrupt", "{error}");
    assert!(
        error.to_string().contains(&format!(
            "journal offset {offset}: a journaled write is refused on replay"
        )),
        "{error}"
    );
    fs::remove_dir_all(&first).unwrap();
    fs::remove_dir_all(&second).unwrap();
}

#[test]
fn a_refused_write_is_not_journaled() {
    let dir = scratch("refused");
    let mut a = Audience::open(&dir).unwrap();
    a.upsert("ada", [("age", 36.into())]).unwrap();
    assert_eq!(
        a.upsert("ada", [("age", "old".into())]).unwrap_err().kind(),
        "schema"
    );
    assert_eq!(a.unset("nobody", "age").unwrap_err().kind(), "unknown_name");
    assert!(!a.erase("nobody").unwrap());
    drop(a);
    let a = Audience::open(&dir).unwrap();
    assert_eq!(a.open_report().unwrap().records_replayed, 1);
    drop(a);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_writer_is_locked_out_and_told_who_holds_it() {
    let dir = scratch("lock");
    let mut a = Audience::open(&dir).unwrap();
    let e = Audience::open(&dir).unwrap_err();
    assert_eq!(e.kind(), "locked");
    assert!(
        matches!(e, segcore::Error::Locked { pid: Some(p), .. } if p == std::process::id()),
        "{e:?}"
    );
    assert!(e
        .to_string()
        .contains(&format!("process {}", std::process::id())));
    a.upsert("ada", [("age", 36.into())]).unwrap();
    a.close().unwrap();
    // Released on close: another writer opens it while the closed audience still reads.
    let mut b = Audience::open(&dir).unwrap();
    assert_eq!(a.len(), 1);
    let e = a.upsert("bo", [("age", 1.into())]).unwrap_err();
    assert_eq!(e.kind(), "io");
    assert!(e.to_string().contains("closed"), "{e}");
    assert_eq!(a.compact().unwrap_err().kind(), "io");
    assert!(a.profile("bo").is_none(), "a refused write changes nothing");
    a.close().unwrap();
    b.upsert("bo", [("age", 1.into())]).unwrap();
    assert_eq!(b.len(), 2);
    drop(b);
    fs::remove_dir_all(&dir).unwrap();
}

/// Writes `n` single-record events, closes, and returns the journal's bytes.
fn journal_of_events(dir: &Path, n: usize) -> Vec<u8> {
    let mut a = Audience::open(dir).unwrap();
    for i in 0..n {
        a.track("ada", Event::new("view", now()).value("n", i as f64))
            .unwrap();
    }
    a.close().unwrap();
    fs::read(dir.join("journal")).unwrap()
}

/// The frames of a journal, as (start, end, in a batch), walked by their length fields.
fn frames(journal: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 8 <= journal.len() {
        let length = u32::from_le_bytes(journal[at..at + 4].try_into().unwrap());
        let end = at + 8 + (length & !(1 << 31)) as usize;
        out.push((at, end, length & (1 << 31) != 0));
        at = end;
    }
    assert_eq!(at, journal.len(), "the journal ends at a frame's end");
    out
}

#[test]
fn a_torn_tail_is_cut_at_every_length_and_reported() {
    let dir = scratch("torn");
    let full = journal_of_events(&dir, 3);
    let record = full.len() - frames(&full).last().unwrap().0;
    for keep in (full.len() - record)..full.len() {
        fs::write(dir.join("journal"), &full[..keep]).unwrap();
        let a = Audience::open(&dir).unwrap();
        let report = a.open_report().unwrap();
        assert_eq!(report.records_replayed, 2, "kept {keep}");
        assert_eq!(report.bytes_cut as usize, keep - (full.len() - record));
        assert_eq!(a.profile("ada").unwrap().events.len(), 2);
        drop(a);
        // The cut is durable: the file now ends after the second record.
        assert_eq!(
            fs::metadata(dir.join("journal")).unwrap().len() as usize,
            full.len() - record
        );
    }
    // A damaged byte inside the last record is a torn tail too.
    let mut damaged = full.clone();
    let last = damaged.len() - 3;
    damaged[last] ^= 0x40;
    fs::write(dir.join("journal"), &damaged).unwrap();
    let a = Audience::open(&dir).unwrap();
    assert_eq!(a.open_report().unwrap().records_replayed, 2);
    assert_eq!(a.open_report().unwrap().bytes_cut as usize, record);
    drop(a);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_batch_is_replayed_whole_or_not_at_all() {
    let dir = scratch("batch");
    let mut a = Audience::open(&dir).unwrap();
    a.upsert("before", [("age", 1.into())]).unwrap();
    let ((), commit) = a
        .batch(|a| {
            a.tag("ada", "vip", now())?;
            a.track("ada", Event::new("purchase", now()))?;
            Ok(())
        })
        .unwrap();
    commit.wait().unwrap();
    a.close().unwrap();
    let full = fs::read(dir.join("journal")).unwrap();
    let whole = Audience::open(&dir).unwrap();
    assert_eq!(whole.open_report().unwrap().records_replayed, 3);
    assert!(whole.profile("ada").is_some());
    drop(whole);
    // Where the batch's first frame starts (everything before it is the upsert and the
    // markers of what was on disk).
    let first_record = frames(&full).iter().find(|f| f.2).unwrap().0;
    // Cut anywhere inside the batch (even just before its end marker): the batch is gone,
    // the write before it stays.
    for keep in first_record + 1..full.len() {
        fs::write(dir.join("journal"), &full[..keep]).unwrap();
        let a = Audience::open(&dir).unwrap();
        assert_eq!(a.open_report().unwrap().records_replayed, 1, "kept {keep}");
        assert_eq!(
            a.open_report().unwrap().bytes_cut as usize,
            keep - first_record
        );
        assert!(a.profile("ada").is_none(), "kept {keep}");
        assert!(a.profile("before").is_some());
        drop(a);
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_batch_keeps_and_syncs_what_it_wrote() {
    let dir = scratch("failed-batch");
    let mut a = Audience::open(&dir).unwrap();
    let e = a
        .batch(|a| {
            a.upsert("ada", [("age", 36.into())])?;
            a.upsert("ada", [("age", "old".into())])?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(e.kind(), "schema");
    drop(a);
    let a = Audience::open(&dir).unwrap();
    assert_eq!(a.profile("ada").unwrap().attributes["age"], 36.into());
    drop(a);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sync_never_keeps_what_flush_wrote() {
    let dir = scratch("never");
    let mut a = Audience::open_with(&dir, Sync::Never).unwrap();
    assert_eq!(a.sync_policy(), Some(Sync::Never));
    for i in 0..1000 {
        a.track(&format!("p{i}"), Event::new("view", now()))
            .unwrap();
    }
    a.flush().unwrap();
    // What was flushed is in the file before the audience is dropped.
    let on_disk = fs::metadata(dir.join("journal")).unwrap().len();
    assert!(on_disk > 1000 * 8, "{on_disk}");
    drop(a);
    assert_eq!(Audience::open(&dir).unwrap().len(), 1000);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_compaction_stopped_between_its_renames_opens_to_the_same_audience() {
    let dir = scratch("stale");
    let mut a = Audience::open(&dir).unwrap();
    every_kind_of_write(&mut a);
    let expected = a.to_bytes();
    let old_journal = fs::read(dir.join("journal")).unwrap();
    a.compact().unwrap();
    a.close().unwrap();
    // As if the process died after renaming the snapshot but before the new journal.
    fs::write(dir.join("journal"), &old_journal).unwrap();
    let b = Audience::open(&dir).unwrap();
    let report = b.open_report().unwrap();
    assert!(report.stale_journal_replaced, "{report}");
    assert_eq!(report.records_replayed, 0);
    assert_eq!(b.to_bytes(), expected);
    drop(b);
    // And a temporary file left by an interrupted atomic write is cleaned up.
    fs::write(dir.join(".snapshot.tmp-99999"), b"half a snapshot").unwrap();
    drop(Audience::open(&dir).unwrap());
    assert!(!dir.join(".snapshot.tmp-99999").exists());
    fs::remove_dir_all(&dir).unwrap();
}

/// Every byte of every file in the directory, searched for `needle`.
fn directory_holds(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let bytes = fs::read(entry.path()).unwrap();
        if bytes.windows(needle.len()).any(|w| w == needle) {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[test]
fn an_erased_profile_leaves_no_byte_on_disk_after_compaction() {
    let dir = scratch("forget");
    let mut a = Audience::open(&dir).unwrap();
    a.upsert("keeper", [("email", "keeper@example.com".into())])
        .unwrap();
    let secrets: [&[u8]; 4] = [
        b"zq-forgotten-7731",
        b"forgotten.person@example.org",
        b"Storgatan 99 secret",
        b"sku-only-they-bought",
    ];
    a.upsert(
        "zq-forgotten-7731",
        [
            ("email", "forgotten.person@example.org".into()),
            ("address", "Storgatan 99 secret".into()),
        ],
    )
    .unwrap();
    a.tag("zq-forgotten-7731", "vip", now()).unwrap();
    a.track(
        "zq-forgotten-7731",
        Event::new("purchase", now()).property("sku", "sku-only-they-bought"),
    )
    .unwrap();
    a.compact().unwrap();
    for s in secrets {
        assert!(!directory_holds(&dir, s).is_empty(), "written at first");
    }
    a.erase("zq-forgotten-7731").unwrap();
    // Until compaction the journal and snapshot still hold them (docs/format.md says so).
    assert!(!directory_holds(&dir, secrets[0]).is_empty());
    a.compact().unwrap();
    for s in secrets {
        assert_eq!(
            directory_holds(&dir, s),
            Vec::<String>::new(),
            "{}",
            String::from_utf8_lossy(s)
        );
    }
    assert!(!directory_holds(&dir, b"keeper@example.com").is_empty());
    drop(a);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_directories_are_typed_errors() {
    let dir = scratch("damaged");
    drop(Audience::open(&dir).unwrap());
    let snapshot = fs::read(dir.join("snapshot")).unwrap();
    let journal = fs::read(dir.join("journal")).unwrap();

    // A journal from a newer format.
    let mut future = journal.clone();
    future[14..16].copy_from_slice(&9u16.to_le_bytes());
    future[12..14].copy_from_slice(&9u16.to_le_bytes());
    let crc = crc32fast::hash(&future[..20]);
    future[20..24].copy_from_slice(&crc.to_le_bytes());
    fs::write(dir.join("journal"), &future).unwrap();
    let e = Audience::open(&dir).unwrap_err();
    assert_eq!(e.kind(), "version", "{e}");
    assert!(e.to_string().contains("expected 3 to 3, found 9"), "{e}");

    // A snapshot cut short, or any byte of it flipped.
    fs::write(dir.join("journal"), &journal).unwrap();
    for cut in [0, 5, 24, snapshot.len() - 1] {
        fs::write(dir.join("snapshot"), &snapshot[..cut]).unwrap();
        assert_eq!(Audience::open(&dir).unwrap_err().kind(), "corrupt");
    }
    for i in 0..snapshot.len() {
        let mut bad = snapshot.clone();
        bad[i] ^= 0x01;
        fs::write(dir.join("snapshot"), &bad).unwrap();
        let e = Audience::open(&dir).unwrap_err();
        assert!(matches!(e.kind(), "corrupt" | "version"), "byte {i}: {e}");
    }
    // A snapshot without its journal: the journal's writes are gone, so opening refuses,
    // unless asked to recover the snapshot alone.
    fs::write(dir.join("snapshot"), &snapshot).unwrap();
    fs::remove_file(dir.join("journal")).unwrap();
    let e = Audience::open(&dir).unwrap_err();
    assert_eq!(e.kind(), "corrupt");
    assert!(e.to_string().contains("journal"), "{e}");
    assert!(e.to_string().contains("is missing"), "{e}");
    assert!(
        !dir.join("journal").exists(),
        "a refused open changes nothing"
    );
    let a = OpenOptions::new()
        .recover(Recover::PointInTime)
        .open(&dir)
        .unwrap();
    assert!(a
        .open_report()
        .unwrap()
        .damage
        .as_deref()
        .unwrap()
        .contains("missing"));
    drop(a);
    assert!(dir.join("journal").exists());

    // A generation-0 journal with no snapshot is a crash while the directory was created
    // (the journal is written first): the generation-0 snapshot is empty, and is written.
    let mut a = Audience::open(scratch_keep(&dir.join("created"))).unwrap();
    a.upsert("ada", [("age", 36.into())]).unwrap();
    drop(a);
    fs::remove_file(dir.join("created").join("snapshot")).unwrap();
    let a = Audience::open(dir.join("created")).unwrap();
    assert_eq!(a.len(), 1);
    drop(a);
    // A later generation's journal with no snapshot is damage.
    let a = Audience::open(dir.join("created")).unwrap();
    a.compact().unwrap();
    drop(a);
    fs::remove_file(dir.join("created").join("snapshot")).unwrap();
    let e = Audience::open(dir.join("created")).unwrap_err();
    assert!(
        e.to_string().contains("generation 1 but no snapshot"),
        "{e}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

fn scratch_keep(dir: &Path) -> &Path {
    let _ = fs::remove_dir_all(dir);
    dir
}

/// The issue's case: one bit flipped a third of the way into the journal of a directory
/// written with `Sync::Always`. The frames after it were acknowledged, so this is not a
/// torn tail: opening refuses, naming the offset and the frames after it, and cuts nothing;
/// a point-in-time recovery keeps the writes before the damage and sets the rest aside, whole.
#[test]
fn a_damaged_frame_before_the_end_is_corruption_not_a_torn_tail() {
    let dir = scratch("mid-damage");
    let mut a = Audience::open_with(&dir, Sync::Always).unwrap();
    for i in 0..50 {
        a.track("ada", Event::new("view", now()).value("n", i as f64))
            .unwrap();
    }
    drop(a);
    let mut journal = fs::read(dir.join("journal")).unwrap();
    let third = journal.len() / 3;
    journal[third] ^= 0x10;
    fs::write(dir.join("journal"), &journal).unwrap();

    let e = Audience::open(&dir).unwrap_err();
    assert_eq!(e.kind(), "corrupt", "{e}");
    let message = e.to_string();
    let damaged = frames(&journal)
        .into_iter()
        .find(|f| f.0 <= third && third < f.1)
        .unwrap();
    assert!(
        message.contains(&format!("journal offset {}", damaged.0)),
        "{message}"
    );
    assert!(message.contains("intact frames"), "{message}");
    assert!(message.contains("PointInTime"), "{message}");
    assert_eq!(
        fs::read(dir.join("journal")).unwrap(),
        journal,
        "nothing cut"
    );

    let a = OpenOptions::new()
        .recover(Recover::PointInTime)
        .open(&dir)
        .unwrap();
    let report = a.open_report().unwrap().clone();
    let kept = a.profile("ada").unwrap().events.len() as u64;
    assert_eq!(report.records_replayed, kept);
    assert!(
        (10..25).contains(&kept),
        "the writes before the damage: {kept}"
    );
    let aside = report.set_aside.clone().unwrap();
    let cut_at = journal.len() - report.bytes_cut as usize;
    assert_eq!(
        fs::read(&aside).unwrap(),
        &journal[cut_at..],
        "set aside whole"
    );
    assert!(aside.starts_with(&dir));
    assert!(report.to_string().contains("recovered"), "{report}");
    drop(a);
    // The recovered directory opens cleanly from then on, and the kept copy stays.
    let a = Audience::open(&dir).unwrap();
    assert_eq!(a.profile("ada").unwrap().events.len() as u64, kept);
    assert_eq!(a.open_report().unwrap().bytes_cut, 0);
    drop(a);
    assert!(aside.exists());
    fs::remove_dir_all(&dir).unwrap();
}

/// Every byte of a journal flipped in turn: a flip in the last write's frames (the last
/// marker and what follows it) is a torn tail and only that write is cut; a flip anywhere
/// before is refused as corruption. No flip ever opens with an earlier write silently lost.
#[test]
fn every_flipped_byte_is_either_the_last_write_cut_or_refused() {
    let dir = scratch("every-flip");
    let full = journal_of_events(&dir, 4);
    let all = frames(&full);
    // Each write went out as a marker frame and its record: the last write starts at the
    // second-to-last frame.
    let last_write = all[all.len() - 2].0;
    for i in 24..full.len() {
        let mut bad = full.clone();
        bad[i] ^= 0x01;
        fs::write(dir.join("journal"), &bad).unwrap();
        match Audience::open(&dir) {
            Ok(a) => {
                assert!(
                    i >= last_write,
                    "byte {i}: opened, cutting an earlier write"
                );
                assert_eq!(a.open_report().unwrap().records_replayed, 3, "byte {i}");
            }
            Err(e) => {
                assert!(i < last_write, "byte {i}: refused a torn last write: {e}");
                assert_eq!(e.kind(), "corrupt", "byte {i}: {e}");
            }
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// `testdata/durable/v3-small` was written by this format's first code: a snapshot of
/// generation 1 and a journal after it. Opened from a copy (opening takes its lock), it must
/// read the same forever.
#[test]
fn the_version_3_fixture_directory_still_opens() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/durable/v3-small");
    let dir = scratch("fixture");
    fs::create_dir_all(&dir).unwrap();
    for name in ["snapshot", "journal"] {
        fs::copy(fixture.join(name), dir.join(name)).unwrap();
    }
    let a = Audience::open(&dir).unwrap();
    let report = a.open_report().unwrap();
    assert_eq!(
        (
            report.generation,
            report.snapshot_profiles,
            report.records_replayed
        ),
        (1, 2, 4)
    );
    assert_eq!(a.time_zone(), "Europe/Stockholm");
    let at = t("2024-06-01T00:00:00Z");
    assert_eq!(
        a.members(&segcore::Predicate::segment("vips"), at).unwrap(),
        ["ada", "bo"]
    );
    assert_eq!(
        a.members(&a.predicate("did purchase").unwrap(), at)
            .unwrap(),
        ["ada"]
    );
    assert_eq!(a.decide("bo", "hero", at).unwrap().variant, "a");
    assert!(a.profile("cy").is_none(), "erased in the journal");
    drop(a);
    fs::remove_dir_all(&dir).unwrap();
}

/// How `testdata/durable/v3-small` was written (run with `--ignored` and
/// `SEGCORE_FIXTURE_DIR` set to make a fixture for a new format version).
#[test]
#[ignore]
fn write_the_fixture_directory() {
    let dir = PathBuf::from(std::env::var("SEGCORE_FIXTURE_DIR").unwrap());
    let mut a = Audience::open(&dir).unwrap();
    a.set_time_zone("Europe/Stockholm").unwrap();
    a.upsert("ada", [("age", 36.into())]).unwrap();
    a.upsert("bo", [("age", 17.into())]).unwrap();
    a.tag("ada", "vip", t("2024-05-01T00:00:00Z")).unwrap();
    a.define_segment("vips", a.predicate(r#"tag "vip""#).unwrap())
        .unwrap();
    let hero = r#"{"rules": [{"segment": "vips", "variant": "a"}], "default": "b",
                   "variants": {"a": {"payload": {"x": 1}}, "b": {}}}"#;
    a.define_decision("hero", Decision::from_json(hero).unwrap())
        .unwrap();
    a.compact().unwrap();
    a.upsert("cy", [("age", 50.into())]).unwrap();
    a.tag("bo", "vip", t("2024-05-02T00:00:00Z")).unwrap();
    a.track(
        "ada",
        Event::new("purchase", t("2024-05-30T10:00:00Z")).value("amount", 120.0),
    )
    .unwrap();
    a.erase("cy").unwrap();
    a.close().unwrap();
    fs::remove_file(dir.join("LOCK")).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// A random audience written into a directory reopens to the same image as the same
    /// writes in memory, before and after compaction, and its answers agree with the
    /// reference evaluator.
    #[test]
    fn random_audiences_reopen_the_same(
        (specs, mutations) in audience_strategy(),
        predicate in valid_predicate(),
    ) {
        let dir = scratch(&format!("prop-{}", fastrand_suffix()));
        let memory = build(&specs, &mutations);
        let mut durable = Audience::open(&dir).unwrap();
        populate(&mut durable, &specs, &mutations);
        drop(durable);
        let reopened = Audience::open(&dir).unwrap();
        prop_assert_eq!(reopened.to_bytes(), memory.to_bytes());
        prop_assert_eq!(
            reopened.member_slots(&predicate, now()).unwrap(),
            reopened.member_slots_by_reference(&predicate, now()).unwrap()
        );
        reopened.compact().unwrap();
        drop(reopened);
        let compacted = Audience::open(&dir).unwrap();
        prop_assert_eq!(compacted.to_bytes(), memory.to_bytes());
        drop(compacted);
        fs::remove_dir_all(&dir).unwrap();
    }
}

fn fastrand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
