//! The bulk load of events as columns, on honest data: profiles with a log-normal number of
//! events (σ = 1.5), three years of history, rows in random order (the shape of
//! `benches/peers/events.py`).
//!
//! `cargo run --release -p segcore-benches --example bulk_load -- [profiles] [mean events]`
//! (default 1,000,000 profiles, 10 events each), in 1M-row batches as the Python path sends
//! them. Prints the time per phase and per event.

use std::time::Instant;

use jiff::Timestamp;
use segcore::ingest::{EventColumns, PropertyColumn};
use segcore::Audience;

fn main() {
    let mut args = std::env::args().skip(1);
    let profiles: usize = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("profiles"));
    let mean: f64 = args
        .next()
        .map_or(10.0, |a| a.parse().expect("mean events"));
    let mut rng = fastrand::Rng::with_seed(42);
    let now = 1_793_534_400_i64;
    let ids: Vec<String> = (0..profiles).map(|i| format!("c{i:08}")).collect();
    let mut owner: Vec<u32> = Vec::new();
    for p in 0..profiles {
        let (u, v) = (1.0 - rng.f64(), rng.f64());
        let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        let n = (mean * (1.5 * z - 1.125).exp().min(1000.0)).round() as usize;
        owner.extend(std::iter::repeat_n(p as u32, n));
    }
    rng.shuffle(&mut owner);
    let n = owner.len();
    let times: Vec<Timestamp> = (0..n)
        .map(|_| Timestamp::from_second(now - rng.i64(0..1095 * 86_400)).expect("in range"))
        .collect();
    let purchase: Vec<bool> = (0..n).map(|_| rng.f64() < 0.3).collect();
    let amounts: Vec<Option<f64>> = purchase
        .iter()
        .map(|&p| p.then(|| (10.0 + rng.f64() * rng.f64() * 490.0).round()))
        .collect();
    let names: Vec<&str> = purchase
        .iter()
        .map(|&p| if p { "purchase" } else { "page_view" })
        .collect();
    let id_column: Vec<&str> = owner.iter().map(|&p| ids[p as usize].as_str()).collect();
    println!("{profiles} profiles, {n} events, random order");

    let mut audience = Audience::new();
    let start = Instant::now();
    let batch = 1_000_000;
    for from in (0..n).step_by(batch) {
        let to = (from + batch).min(n);
        let properties = [("amount", PropertyColumn::Numbers(&amounts[from..to]))];
        audience
            .load_events(&EventColumns {
                ids: &id_column[from..to],
                names: &names[from..to],
                times: &times[from..to],
                properties: &properties,
            })
            .expect("valid rows");
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "load_events: {elapsed:.2} s, {:.0} ns an event",
        elapsed / n as f64 * 1e9
    );
    let at = Timestamp::from_second(now).expect("in range");
    let b3 = audience
        .predicate(
            "did purchase at least 2 times in last 30d and sum(purchase.amount in last 365d) > 500",
        )
        .expect("parses");
    let start = Instant::now();
    let count = audience.count(&b3, at).expect("counts");
    println!(
        "B3: {count} in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}
