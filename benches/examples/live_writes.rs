//! The cost of a write with live membership on, against the same write with it off, on the
//! sample shop with generated catalogs of realistic segments:
//! `cargo run --release -p segcore-benches --example live_writes -- [customers] [segments...]`
//! (default 20,000 customers; 100 and 10,000 segments).

use std::time::Instant;

use segcore::sample::SampleShop;
use segcore::{Audience, Event, Value};
use segcore_benches::{quantile, realistic_catalog};

/// One write of the mix: most are events, then tags, attribute changes and consent.
enum Write {
    Track(String, &'static str),
    Tag(String, &'static str),
    Upsert(String, &'static str, Value),
    Consent(String, bool),
}

fn writes(customers: usize, n: usize) -> Vec<Write> {
    let mut rng = fastrand::Rng::with_seed(7);
    (0..n)
        .map(|_| {
            let id = format!("c{:07}", rng.usize(0..customers));
            match rng.u32(0..100) {
                0..=39 => Write::Track(id, "page_view"),
                40..=54 => Write::Track(id, "add_to_cart"),
                55..=64 => Write::Track(id, "purchase"),
                65..=79 => Write::Tag(id, ["interest:yoga", "vip", "churn_risk"][rng.usize(0..3)]),
                80..=89 => {
                    Write::Upsert(id, "plan", ["free", "plus", "pro"][rng.usize(0..3)].into())
                }
                _ => Write::Consent(id, rng.bool()),
            }
        })
        .collect()
}

/// Each write's time in nanoseconds.
fn run(audience: &mut Audience, writes: &[Write], now: jiff::Timestamp) -> (Vec<f64>, usize) {
    let mut times = Vec::with_capacity(writes.len());
    let mut moved = 0;
    for (i, w) in writes.iter().enumerate() {
        let started = Instant::now();
        match w {
            Write::Track(id, name) => {
                let mut e = Event::new(*name, now).property("category", "shoes");
                if *name == "purchase" {
                    e = e.value("amount", 120.0);
                }
                audience.track(id, e)
            }
            Write::Tag(id, tag) => audience.tag(id, tag, now),
            Write::Upsert(id, k, v) => audience.upsert(id, [(*k, v.clone())]).map(drop),
            Write::Consent(id, granted) => audience.set_consent(id, "email", *granted, now),
        }
        .expect("a valid write");
        times.push(started.elapsed().as_nanos() as f64);
        if i % 1000 == 999 {
            moved += audience.drain_transitions().len();
        }
    }
    (times, moved + audience.drain_transitions().len())
}

fn summary(mut times: Vec<f64>) -> (f64, f64, f64) {
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    times.sort_by(f64::total_cmp);
    (mean, quantile(&times, 0.5), quantile(&times, 0.99))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().map_or(Ok(20_000), |s| s.parse())?;
    let mut sizes: Vec<usize> = args.map(|s| s.parse()).collect::<Result<_, _>>()?;
    if sizes.is_empty() {
        sizes = vec![100, 10_000];
    }
    let shop = SampleShop::new(customers);
    let base = shop.build();
    let mix = writes(customers, 20_000);
    println!(
        "{customers} customers, {} writes (events 65%, tags 15%, attributes 10%, consent 10%)",
        mix.len()
    );
    println!("segments | off: mean  p50   p99 µs | on: mean  p50   p99 µs | added mean µs | start_live s | transitions");
    for n in sizes {
        let mut off = base.clone();
        for (name, text) in realistic_catalog(n, 1) {
            let p = off.predicate(&text)?;
            off.define_segment(&name, p)?;
        }
        let mut on = off.clone();
        let started = Instant::now();
        on.start_live(shop.now)?;
        let start = started.elapsed().as_secs_f64();
        let (off_mean, off_p50, off_p99) = summary(run(&mut off, &mix, shop.now).0);
        let (times, moved) = run(&mut on, &mix, shop.now);
        let (on_mean, on_p50, on_p99) = summary(times);
        println!(
            "{n:>8} | {:>9.2} {:>5.2} {:>5.2} | {:>8.2} {:>5.2} {:>5.2} | {:>13.2} | {start:>12.2} | {moved}",
            off_mean / 1e3, off_p50 / 1e3, off_p99 / 1e3,
            on_mean / 1e3, on_p50 / 1e3, on_p99 / 1e3,
            (on_mean - off_mean) / 1e3,
        );
    }
    Ok(())
}
