//! Reverse matching: `segments_of` one profile over generated catalogs of realistic segments,
//! against a plain loop testing every segment through the reference evaluator, in the same
//! run (and checked equal):
//! `cargo run --release -p segcore-benches --example reverse -- [customers] [segments...]`
//! (default 20,000 customers; 10,000 and 1,000,000 segments). Three catalogs: `mixed`
//! (attributes, tags, event windows, counts, aggregates over the shop's few values), `scoped`
//! (the same shapes, each for one of `segments / 100` stores) and `attribute` (conjunctions
//! of value, tag and list tests, as ad-targeting indexes are measured);
//! `SEGCORE_BENCH_CATALOGS=scoped,attribute` runs only those.

use std::time::Instant;

use segcore::sample::SampleShop;
use segcore::Predicate;
use segcore_benches::{attribute_catalog, quantile, realistic_catalog, scoped_catalog, stores_for};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().map_or(Ok(20_000), |s| s.parse())?;
    let mut sizes: Vec<usize> = args.map(|s| s.parse()).collect::<Result<_, _>>()?;
    if sizes.is_empty() {
        sizes = vec![10_000, 1_000_000];
    }
    let shop = SampleShop::new(customers);
    let now = shop.now;
    let mut rng = fastrand::Rng::with_seed(11);
    println!("{customers} customers of the sample shop; times per profile");
    println!(
        "catalog   | segments | build s | index MB | leaves | postings | unindexed | p50 µs | p99 µs | mean segs | plain loop µs | plain/p50"
    );
    let base = shop.build();
    type Generator = fn(usize, u64) -> Vec<(String, String)>;
    let catalogs: [(&str, Generator); 3] = [
        ("mixed", realistic_catalog),
        ("scoped", scoped_catalog),
        ("attribute", attribute_catalog),
    ];
    for (kind, generate) in catalogs {
        let only = std::env::var("SEGCORE_BENCH_CATALOGS").unwrap_or_default();
        if !only.is_empty() && !only.split(',').any(|k| k == kind) {
            continue;
        }
        for &n in &sizes {
            let mut audience = base.clone();
            if kind == "scoped" {
                let mut stores = fastrand::Rng::with_seed(3);
                for c in 0..customers {
                    let store = format!("st{}", stores.usize(0..stores_for(n)));
                    audience.upsert(&format!("c{c:07}"), [("store", store.into())])?;
                }
            }
            for (name, text) in generate(n, 1) {
                let p = audience.predicate(&text)?;
                audience.define_segment(&name, p)?;
            }
            let started = Instant::now();
            let stats = audience.reverse_index_stats();
            let build = started.elapsed().as_secs_f64();
            let memory = stats.bytes as f64 / 1e6;

            let queries = if n > 100_000 { 300 } else { 3_000 };
            let ids: Vec<String> = (0..queries)
                .map(|_| format!("c{:07}", rng.usize(0..customers)))
                .collect();
            let mut times = Vec::with_capacity(ids.len());
            let mut found = 0usize;
            for id in &ids {
                let started = Instant::now();
                let segments = audience.segments_of(id, now)?;
                times.push(started.elapsed().as_secs_f64() * 1e6);
                found += segments.len();
            }
            times.sort_by(f64::total_cmp);

            // The plain loop, on a few of the same profiles, checked equal.
            let plain_profiles = if n > 100_000 { 3 } else { 30 };
            let names: Vec<Predicate> =
                audience.catalog().names().map(Predicate::segment).collect();
            let started = Instant::now();
            for id in &ids[..plain_profiles] {
                let mut matched = Vec::new();
                for (p, name) in names.iter().zip(audience.catalog().names()) {
                    if audience.matches_by_reference(id, p, now)? {
                        matched.push(name.to_owned());
                    }
                }
                assert_eq!(matched, audience.segments_of(id, now)?, "{id}");
            }
            let plain = started.elapsed().as_secs_f64() * 1e6 / plain_profiles as f64;
            let p50 = quantile(&times, 0.5);
            println!(
            "{kind:<9} | {n:>8} | {build:>7.2} | {memory:>8.0} | {:>6} | {:>8} | {:>9} | {p50:>6.1} | {:>6.1} | {:>9.1} | {plain:>13.0} | {:>8.0}x",
            stats.leaves,
            stats.postings,
            stats.unindexed,
            quantile(&times, 0.99),
            found as f64 / ids.len() as f64,
            plain / p50,
        );
        }
    }
    Ok(())
}
