//! B4: builds the sample shop and reports the time it took, the events it holds, and the
//! process's peak memory (VmHWM), from which the memory per profile and per event follow.
//!
//! Usage: `b4_build <customers> <mean events per customer> <full|minimal>`

use std::time::Instant;

use segcore::sample::{ProfileDetail, SampleShop};
use segcore_benches::peak_rss_bytes;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().ok_or("customers")?.parse()?;
    let events: u32 = args.next().ok_or("events per customer")?.parse()?;
    let detail = match args.next().as_deref() {
        Some("minimal") => ProfileDetail::Minimal,
        _ => ProfileDetail::Full,
    };
    let mut shop = SampleShop::new(customers);
    shop.events_per_customer = events;
    shop.detail = detail;
    let started = Instant::now();
    let audience = shop.build();
    let secs = started.elapsed().as_secs_f64();
    let total_events: usize = (0..customers)
        .filter_map(|i| audience.profile(&format!("c{i:07}")))
        .map(|p| p.events.len())
        .sum();
    println!(
        "{{\"customers\": {customers}, \"events\": {total_events}, \"detail\": \"{detail:?}\", \
         \"build_s\": {secs:.2}, \"peak_rss_bytes\": {}}}",
        peak_rss_bytes().unwrap_or(0)
    );
    Ok(())
}
