//! One customer's long history, loaded in time order and in random order: no arrival order may
//! cost more than n log n. A bot or a B2B account with a million events must not stall a load.
//!
//! `cargo run --release -p segcore-benches --example late_events -- [events...]`
//! (default 25,000, 100,000 and 1,000,000 events). Each size is written through `track`, one
//! event at a time, into an in-memory audience: sorted, then shuffled; then shuffled through
//! the bulk `load_events` in one batch. The whole-history and windowed answers of each are
//! checked against the sorted one.

use std::time::Instant;

use jiff::Timestamp;
use segcore::ingest::{EventColumns, PropertyColumn};
use segcore::{Audience, Event};

/// `n` events of one customer over three years: purchases with an amount, page views.
fn history(n: usize) -> Vec<Event> {
    let mut rng = fastrand::Rng::with_seed(11);
    let now = 1_790_000_000_i64;
    (0..n)
        .map(|i| {
            let at = Timestamp::from_second(now - (n - i) as i64 * 94_000_000 / n as i64)
                .expect("in range");
            if rng.u32(0..4) == 0 {
                Event::new("purchase", at).value("amount", f64::from(rng.u32(1..500)))
            } else {
                Event::new("page_view", at)
            }
        })
        .collect()
}

/// Seconds to track `events` for one customer (made before the clock starts).
fn load(events: &[Event]) -> (Audience, f64) {
    let events = events.to_vec();
    let mut audience = Audience::new();
    let start = Instant::now();
    for event in events {
        audience.track("bot", event).expect("a valid event");
    }
    (audience, start.elapsed().as_secs_f64())
}

/// Seconds to load `events` for one customer as columns, in one batch.
fn load_columns(events: &[Event]) -> (Audience, f64) {
    let ids = vec!["bot"; events.len()];
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    let times: Vec<Timestamp> = events.iter().map(|e| e.at).collect();
    let amounts: Vec<Option<f64>> = events
        .iter()
        .map(|e| match e.properties.first() {
            Some((_, segcore::Value::Number(x))) => Some(*x),
            _ => None,
        })
        .collect();
    let properties = [("amount", PropertyColumn::Numbers(&amounts))];
    let mut audience = Audience::new();
    let start = Instant::now();
    audience
        .load_events(&EventColumns {
            ids: &ids,
            names: &names,
            times: &times,
            properties: &properties,
        })
        .expect("valid rows");
    (audience, start.elapsed().as_secs_f64())
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of events"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![25_000, 100_000, 1_000_000]
    } else {
        sizes
    };
    let now: Timestamp = "2026-10-31T00:00:00Z".parse().expect("an instant");
    let questions = [
        "sum(purchase.amount) > 1000",
        "avg(purchase.amount in last 30d) > 250",
        "did purchase at least 2 times in last 7d",
        "max(purchase.amount in last 365d) >= 499",
    ];
    println!("events     sorted (s)  shuffled (s)  ratio  shuffled, bulk (s)");
    for n in sizes {
        let sorted = history(n);
        let mut shuffled = sorted.clone();
        fastrand::Rng::with_seed(3).shuffle(&mut shuffled);
        let (a, in_order) = load(&sorted);
        let (b, random) = load(&shuffled);
        let (c, bulk) = load_columns(&shuffled);
        for q in questions {
            let want = a
                .count(&a.predicate(q).expect("parses"), now)
                .expect("counts");
            for (other, how) in [(&b, "shuffled"), (&c, "bulk")] {
                let got = other.count(&other.predicate(q).expect("parses"), now);
                assert_eq!(got.expect("counts"), want, "{q}: {how}");
            }
        }
        println!(
            "{n:>9}  {in_order:>10.3}  {random:>12.3}  {:>5.1}  {bulk:>18.3}",
            random / in_order
        );
    }
}
