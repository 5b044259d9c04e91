//! Every segment of the sample shop, timed through the matcher and through the reference
//! evaluator on the same audience, with build time and peak memory:
//! `cargo run --release -p segcore-benches --example segments_table -- [customers] [events per customer] [runs]`
//! (defaults 100000, 10, 5). Prints a Markdown table; fails if any count differs. With
//! `SEGCORE_EXPLAIN=1`, also prints each segment's plan.

use std::time::{Duration, Instant};

use segcore::sample::{SampleShop, SEGMENTS};
use segcore::Predicate;
use segcore_benches::peak_rss_bytes;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().map_or(Ok(100_000), |s| s.parse())?;
    let events: u32 = args.next().map_or(Ok(10), |s| s.parse())?;
    let runs: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let mut shop = SampleShop::new(customers);
    shop.events_per_customer = events;

    let started = Instant::now();
    let mut audience = shop.try_build()?;
    let built = started.elapsed();
    println!(
        "{} customers, ~{} events (on average {events} each); built in {:.1?}; peak RSS {:.2} GB",
        audience.len(),
        customers as u64 * u64::from(events),
        built,
        peak_rss_bytes().unwrap_or(0) as f64 / 1e9
    );
    for (_, name, text) in SEGMENTS {
        let p = audience.predicate(text)?;
        audience.define_segment(name, p)?;
    }
    println!(
        "\n| segment | members | matcher (median of {runs}) | reference | reference / matcher |"
    );
    println!("|---|---|---|---|---|");
    let mut slowest = Duration::ZERO;
    for (_, name, _) in SEGMENTS {
        let p = Predicate::segment(*name);
        let mut times = Vec::with_capacity(runs);
        let mut count = 0;
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            count = audience.count(&p, shop.now)?;
            times.push(started.elapsed());
        }
        times.sort();
        let median = times[times.len() / 2];
        slowest = slowest.max(median);
        let started = Instant::now();
        let by_reference = audience.member_slots_by_reference(&p, shop.now)?.len() as u64;
        let reference = started.elapsed();
        if by_reference != count {
            return Err(format!("{name}: matcher {count}, reference {by_reference}").into());
        }
        println!(
            "| {name} | {count} | {median:.2?} | {reference:.2?} | {:.0}× |",
            reference.as_secs_f64() / median.as_secs_f64()
        );
    }
    println!("\nslowest segment: {slowest:.2?}");
    if std::env::var_os("SEGCORE_EXPLAIN").is_some() {
        for (_, name, _) in SEGMENTS {
            println!(
                "\n{}",
                audience.explain(&Predicate::segment(*name), shop.now)?
            );
        }
    }
    Ok(())
}
