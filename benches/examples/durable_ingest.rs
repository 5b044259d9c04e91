//! Durable ingest, segcore against SQLite in WAL mode, on the same events in the same run, and
//! the time to open (replay) a large directory.
//!
//! ```text
//! cargo run --release -p segcore-benches --features sqlite --example durable_ingest -- \
//!     [events=1000000] [batch=1000] [replay_events=10000000] [dir=target/durable-bench]
//! ```
//!
//! Every run writes `events` page views and purchases (50,000 customers) in transactions of
//! `batch` events:
//!
//! - segcore, one writer, each batch one `Audience::batch` waited for: `Sync::Never` (ending
//!   with `flush`), `Sync::Always`, `Sync::Group`;
//! - segcore `Sync::Group` with 4 writer threads sharing the audience behind a lock, each
//!   waiting for its batch's commit after releasing it (their fsyncs are shared);
//! - SQLite, WAL journal, `synchronous=FULL` (each commit fsyncs the WAL, the promise of
//!   segcore's `Always` and `Group`) and `synchronous=NORMAL` (commits are not synced: safe from
//!   a process crash, not from a power loss), one transaction per batch, a prepared insert into
//!   `events(profile, name, at, amount)` with an index on `profile`;
//! - single-event commits (batch of one) for 2,000 events, segcore `Always` and SQLite FULL.
//!
//! Then `replay_events` are written with `Sync::Never`, and opening the directory is timed:
//! replaying the journal, and after `compact()` reading the snapshot.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use segcore::{Audience, Event, Sync};

const CUSTOMERS: u64 = 50_000;

struct Row {
    id: String,
    name: &'static str,
    at: jiff::Timestamp,
    amount: Option<f64>,
}

fn rows(n: u64) -> Vec<Row> {
    let base = jiff::Timestamp::from_second(1_704_067_200).unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    (0..n)
        .map(|i| {
            let purchase = rng.u8(..5) == 0;
            Row {
                id: format!("c{:07}", rng.u64(..CUSTOMERS)),
                name: if purchase { "purchase" } else { "page_view" },
                at: jiff::Timestamp::from_second(base.as_second() + i as i64).unwrap(),
                amount: purchase.then(|| f64::from(rng.u32(1..500))),
            }
        })
        .collect()
}

fn event(row: &Row) -> Event {
    let e = Event::new(row.name, row.at);
    match row.amount {
        Some(x) => e.value("amount", x),
        None => e,
    }
}

/// Tracks `rows` as one batch.
fn track_batch(a: &mut Audience, rows: &[Row]) -> segcore::Result<((), segcore::Commit)> {
    a.batch(|a| {
        for r in rows {
            a.track(&r.id, event(r))?;
        }
        Ok(())
    })
}

fn fresh(dir: &Path, name: &str) -> PathBuf {
    let d = dir.join(name);
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::remove_file(&d);
    d
}

/// segcore, one writer: events per second.
fn segcore_one_writer(dir: &Path, rows: &[Row], batch: usize, sync: Sync) -> f64 {
    let path = fresh(dir, &format!("segcore-{sync:?}"));
    let mut a = Audience::open_with(&path, sync).unwrap();
    let start = Instant::now();
    for chunk in rows.chunks(batch) {
        let ((), commit) = track_batch(&mut a, chunk).unwrap();
        commit.wait().unwrap();
    }
    a.flush().unwrap();
    let rate = rows.len() as f64 / start.elapsed().as_secs_f64();
    a.close().unwrap();
    assert_eq!(Audience::open(&path).unwrap().len(), distinct(rows));
    rate
}

/// segcore `Group`, several writers sharing the audience behind a lock.
fn segcore_writers(dir: &Path, rows: &[Row], batch: usize, writers: usize) -> f64 {
    let path = fresh(dir, "segcore-group-threads");
    let audience = Arc::new(RwLock::new(Audience::open(&path).unwrap()));
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..writers {
            let audience = Arc::clone(&audience);
            s.spawn(move || {
                for chunk in rows.chunks(batch).skip(w).step_by(writers) {
                    let ((), commit) = track_batch(&mut audience.write().unwrap(), chunk).unwrap();
                    commit.wait().unwrap();
                }
            });
        }
    });
    let rate = rows.len() as f64 / start.elapsed().as_secs_f64();
    drop(audience);
    assert_eq!(Audience::open(&path).unwrap().len(), distinct(rows));
    rate
}

fn sqlite(dir: &Path, rows: &[Row], batch: usize, synchronous: &str) -> f64 {
    let path = fresh(dir, &format!("sqlite-{synchronous}.db"));
    let mut db = rusqlite::Connection::open(&path).unwrap();
    db.pragma_update(None, "journal_mode", "WAL").unwrap();
    db.pragma_update(None, "synchronous", synchronous).unwrap();
    db.execute_batch(
        "CREATE TABLE events (profile TEXT NOT NULL, name TEXT NOT NULL, at INTEGER NOT NULL,
                              amount REAL);
         CREATE INDEX events_profile ON events(profile);",
    )
    .unwrap();
    let start = Instant::now();
    for chunk in rows.chunks(batch) {
        let tx = db.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO events VALUES (?1, ?2, ?3, ?4)")
                .unwrap();
            for r in chunk {
                insert
                    .execute(rusqlite::params![r.id, r.name, r.at.as_second(), r.amount])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let rate = rows.len() as f64 / start.elapsed().as_secs_f64();
    let n: i64 = db
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, rows.len());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    rate
}

fn distinct(rows: &[Row]) -> usize {
    rows.iter()
        .map(|r| r.id.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).map_or(default, |a| a.parse().unwrap());
    let events = arg(0, 1_000_000);
    let batch = arg(1, 1_000) as usize;
    let replay = arg(2, 10_000_000);
    let dir = PathBuf::from(
        args.get(3)
            .cloned()
            .unwrap_or("target/durable-bench".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let data = rows(events);
    println!(
        "{events} events, transactions of {batch}, in {}",
        dir.display()
    );
    println!("{:<44} {:>14} {:>12}", "writer", "events/s", "vs NORMAL");
    let normal = sqlite(&dir, &data, batch, "NORMAL");
    let full = sqlite(&dir, &data, batch, "FULL");
    let results = [
        ("SQLite WAL synchronous=NORMAL", normal),
        ("SQLite WAL synchronous=FULL", full),
        (
            "segcore Sync::Never (+ flush)",
            segcore_one_writer(&dir, &data, batch, Sync::Never),
        ),
        (
            "segcore Sync::Always",
            segcore_one_writer(&dir, &data, batch, Sync::Always),
        ),
        (
            "segcore Sync::Group, 1 writer",
            segcore_one_writer(&dir, &data, batch, Sync::Group),
        ),
        (
            "segcore Sync::Group, 4 writers",
            segcore_writers(&dir, &data, batch, 4),
        ),
    ];
    for (name, rate) in results {
        println!("{name:<44} {rate:>14.0} {:>11.2}x", rate / normal);
    }

    let single = rows(2_000);
    let sqlite_single = sqlite(&dir, &single, 1, "FULL");
    let segcore_single = segcore_one_writer(&dir, &single, 1, Sync::Always);
    println!("\none event per commit (2,000 events):");
    println!(
        "{:<44} {:>14.0}",
        "SQLite WAL synchronous=FULL", sqlite_single
    );
    println!(
        "{:<44} {:>14.0} {:>11.2}x",
        "segcore Sync::Always",
        segcore_single,
        segcore_single / sqlite_single
    );

    if replay > 0 {
        let path = fresh(&dir, "replay");
        let mut a = Audience::open_with(&path, Sync::Never).unwrap();
        let big = rows(replay);
        let start = Instant::now();
        for chunk in big.chunks(10_000) {
            // Sync::Never: nothing to wait for until the flush.
            let ((), _) = track_batch(&mut a, chunk).unwrap();
        }
        a.flush().unwrap();
        let written = start.elapsed();
        a.close().unwrap();
        drop(a);
        drop(big);
        let journal = std::fs::metadata(path.join("journal")).unwrap().len();
        let start = Instant::now();
        let a = Audience::open(&path).unwrap();
        let replayed = start.elapsed();
        let records = a.open_report().unwrap().records_replayed;
        let start = Instant::now();
        a.compact().unwrap();
        let compacted = start.elapsed();
        drop(a);
        let snapshot = std::fs::metadata(path.join("snapshot")).unwrap().len();
        let start = Instant::now();
        let a = Audience::open(&path).unwrap();
        let reopened = start.elapsed();
        println!("\n{replay} events with Sync::Never: written in {written:.2?}");
        println!(
            "open replaying the journal ({records} records, {:.0} MB): {replayed:.2?}",
            journal as f64 / 1e6
        );
        println!(
            "compact: {compacted:.2?} (snapshot {:.0} MB)",
            snapshot as f64 / 1e6
        );
        println!(
            "open from the snapshot: {reopened:.2?} ({} profiles)",
            a.len()
        );
        drop(a);
        let _ = std::fs::remove_dir_all(&path);
    }
}
