//! Pair co-occurrence on a basket dataset shaped like the usual market-basket benchmark
//! (33,841 baskets over 1,587 items), at minimum support 0.005: the time segcore takes, and
//! the data written out so `benches/peers/cooccurrence.py` runs mlxtend and polars on the
//! same baskets and checks their pair counts equal.
//!
//! ```text
//! cargo run --release -p segcore-benches --example cooccurrence -- [baskets] [items] [min_support] [csv]
//! ```
//!
//! The baskets are generated (seed 7): sizes from 1 to 40 (mean about 10), items drawn with
//! Zipf-like popularity (item k about 1/(k+10) as often as the most popular), no item twice in
//! a basket. Each basket is one profile with one `purchase` event per item. Printed: the
//! median of 11 runs of `Audience::co_occurrence`, the pairs found, and a JSON line for the
//! peer script.

use std::io::Write as _;
use std::time::Instant;

use segcore::{Audience, Event};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let baskets: usize = args.first().map_or(33_841, |a| a.parse().unwrap());
    let items: usize = args.get(1).map_or(1_587, |a| a.parse().unwrap());
    let support: f64 = args.get(2).map_or(0.005, |a| a.parse().unwrap());
    let csv = args.get(3).cloned();

    let mut rng = fastrand::Rng::with_seed(7);
    // Cumulative Zipf-like weights: item k drawn about 1/(k + 10) as often.
    let weights: Vec<f64> = (0..items).map(|k| 1.0 / (k as f64 + 10.0)).collect();
    let total: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(items);
    let mut running = 0.0;
    for w in &weights {
        running += w / total;
        cumulative.push(running);
    }
    let draw = |rng: &mut fastrand::Rng| -> usize {
        let x = rng.f64();
        cumulative.partition_point(|&c| c < x).min(items - 1)
    };
    let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    let mut audience = Audience::new();
    let mut rows = Vec::new();
    let mut item_events = 0usize;
    for b in 0..baskets {
        let size = 1 + (rng.f64() * rng.f64() * 40.0) as usize;
        let mut basket: Vec<usize> = Vec::with_capacity(size);
        while basket.len() < size.min(items) {
            let item = draw(&mut rng);
            if !basket.contains(&item) {
                basket.push(item);
            }
        }
        let id = format!("b{b:06}");
        for item in basket {
            let sku = format!("i{item:04}");
            audience
                .track(
                    &id,
                    Event::new("purchase", now).property("sku", sku.as_str()),
                )
                .unwrap();
            rows.push((b, sku));
            item_events += 1;
        }
    }
    if let Some(path) = &csv {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        writeln!(out, "basket,item").unwrap();
        for (b, sku) in &rows {
            writeln!(out, "{b},{sku}").unwrap();
        }
    }
    let mut times = Vec::new();
    let mut pairs = 0;
    for _ in 0..11 {
        let start = Instant::now();
        let together = audience.co_occurrence("purchase", "sku", support).unwrap();
        times.push(start.elapsed().as_secs_f64());
        pairs = together.pairs().len();
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{baskets} baskets, {item_events} items bought ({:.1} a basket), {items} items, min \
         support {support}: {pairs} pairs in {:.1} ms (median of 11)",
        item_events as f64 / baskets as f64,
        median * 1e3
    );
    println!(
        "{{\"segcore_seconds\": {median}, \"pairs\": {pairs}, \"baskets\": {baskets}, \"support\": {support}}}"
    );
}
