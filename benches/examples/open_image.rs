//! Reading an audience back from its image — what `Audience::load`, `Audience::from_bytes`
//! (Dask's pickles) and the snapshot of a durable directory all do — on honest data
//! (`segcore_benches::honest`: three years, log-normal events per profile, random order).
//!
//! `cargo run --release -p segcore-benches --example open_image -- [profiles] [mean events]`
//! (default 1,000,000 profiles, 10 events each). Prints the time to write the image to a file
//! and to read it back, in events a second, and checks that B3 answers the same after. Then
//! writes the same events into a durable directory (`Sync::Never`, one journal record each)
//! and times opening it by replaying the journal, and again from a snapshot after `compact`
//! (skipped with `SEGCORE_ONLY=image`: the durable writes take about a minute at 1M).

use std::time::Instant;

use jiff::Timestamp;
use segcore::{Audience, Sync};
use segcore_benches::honest::{sizes_from_args, HonestEvents, NOW_SECOND};

fn main() {
    let (profiles, mean) = sizes_from_args();
    let events = HonestEvents::generate(profiles, mean, 42);
    let n = events.len();
    let mut audience = Audience::new();
    events.load_into(&mut audience, 1_000_000);
    println!("{profiles} profiles, {n} events");
    let dir = std::env::temp_dir().join(format!("segcore-open-image-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("audience.segcore");
    let ((), saved) = timed(|| audience.save(&path).expect("saves"));
    let size = std::fs::metadata(&path).expect("written").len();
    println!("save: {saved:.2} s ({:.0} MB)", size as f64 / 1e6);
    let (loaded, read) = timed(|| Audience::load(&path).expect("loads"));
    println!(
        "load: {read:.2} s, {:.2}M events a second",
        n as f64 / read / 1e6
    );
    let b3 =
        "did purchase at least 2 times in last 30d and sum(purchase.amount in last 365d) > 500";
    let at = Timestamp::from_second(NOW_SECOND).expect("in range");
    let count = |a: &Audience| {
        a.count(&a.predicate(b3).expect("parses"), at)
            .expect("counts")
    };
    let (before, after) = (count(&audience), count(&loaded));
    println!("B3: {before} before, {after} after");
    assert_eq!(before, after, "the image holds what the audience held");
    drop(loaded);
    if std::env::var("SEGCORE_ONLY").is_ok_and(|only| only == "image") {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    let durable = dir.join("durable");
    let mut written = Audience::open_with(&durable, Sync::Never).expect("opens");
    let ((), wrote) = timed(|| {
        events.load_into(&mut written, 1_000_000);
        written.flush().expect("flushes");
    });
    drop(written);
    drop(events);
    let journal = std::fs::metadata(durable.join("journal"))
        .expect("a journal")
        .len();
    println!(
        "durable writes (one record an event): {wrote:.2} s, journal {:.0} MB",
        journal as f64 / 1e6
    );
    let (replayed, read) = timed(|| Audience::open(&durable).expect("reopens"));
    let records = replayed.open_report().expect("durable").records_replayed;
    println!(
        "open replaying the journal: {read:.2} s, {:.2}M records a second",
        records as f64 / read / 1e6
    );
    assert_eq!(
        count(&replayed),
        before,
        "the journal holds what was written"
    );
    replayed.compact().expect("compacts");
    drop(replayed);
    let (reopened, read) = timed(|| Audience::open(&durable).expect("reopens"));
    println!(
        "open from the snapshot: {read:.2} s, {:.2}M events a second",
        n as f64 / read / 1e6
    );
    assert_eq!(
        count(&reopened),
        before,
        "the snapshot holds what was written"
    );
    drop(reopened);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `f`'s result and the seconds it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed().as_secs_f64())
}
