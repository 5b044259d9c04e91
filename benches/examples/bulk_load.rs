//! The bulk load of events as columns, on honest data (`segcore_benches::honest`: a log-normal
//! number of events per profile, three years of history, rows in random order — the shape of
//! `benches/peers/events.py`).
//!
//! `cargo run --release -p segcore-benches --example bulk_load -- [profiles] [mean events]`
//! (default 1,000,000 profiles, 10 events each), in 1M-row batches as the Python path sends
//! them. Prints the load's time per event and the time of B3 after it. With
//! `SEGCORE_APPEND=<rows>`, then appends that many newer events (the next day, random known
//! profiles) in one `load_events` call, as a daily top-up does, and times it and B3 again.

use std::time::Instant;

use jiff::Timestamp;
use segcore::ingest::{EventColumns, PropertyColumn};
use segcore::Audience;
use segcore_benches::honest::{sizes_from_args, HonestEvents, NOW_SECOND};

fn main() {
    let (profiles, mean) = sizes_from_args();
    let events = HonestEvents::generate(profiles, mean, 42);
    let n = events.len();
    println!("{profiles} profiles, {n} events, random order");
    let mut audience = Audience::new();
    let start = Instant::now();
    events.load_into(&mut audience, 1_000_000);
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "load_events: {elapsed:.2} s, {:.0} ns an event",
        elapsed / n as f64 * 1e9
    );
    let b3 = audience
        .predicate(
            "did purchase at least 2 times in last 30d and sum(purchase.amount in last 365d) > 500",
        )
        .expect("parses");
    let at = Timestamp::from_second(NOW_SECOND).expect("in range");
    let start = Instant::now();
    let count = audience.count(&b3, at).expect("counts");
    println!(
        "B3: {count} in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let Some(rows) = std::env::var("SEGCORE_APPEND")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return;
    };
    let mut rng = fastrand::Rng::with_seed(7);
    let ids: Vec<&str> = (0..rows)
        .map(|_| events.ids[rng.usize(0..profiles)].as_str())
        .collect();
    let times: Vec<Timestamp> = (0..rows)
        .map(|_| Timestamp::from_second(NOW_SECOND + rng.i64(1..86_400)).expect("in range"))
        .collect();
    let amounts: Vec<Option<f64>> = (0..rows)
        .map(|_| Some(f64::from(rng.u32(10..500))))
        .collect();
    let names = vec!["purchase"; rows];
    let properties = [("amount", PropertyColumn::Numbers(&amounts))];
    let columns = EventColumns {
        ids: &ids,
        names: &names,
        times: &times,
        properties: &properties,
    };
    let start = Instant::now();
    audience.load_events(&columns).expect("valid rows");
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "append {rows} newer events: {elapsed:.2} s, {:.0} ns an event",
        elapsed / rows as f64 * 1e9
    );
    let later = Timestamp::from_second(NOW_SECOND + 86_400).expect("in range");
    let start = Instant::now();
    let count = audience.count(&b3, later).expect("counts");
    println!(
        "B3 a day later: {count} in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}
