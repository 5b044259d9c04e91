//! The main job on a generated sample shop: build an audience, define segments of every kind
//! a marketer uses, and print each segment's size.
//!
//! Run: `cargo run --release --example shop` (optionally `-- <customers>`, default 100000).

use std::time::Instant;

use segcore::sample::{SampleShop, SEGMENTS};
use segcore::Predicate;

fn main() -> Result<(), segcore::Error> {
    let customers = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let shop = SampleShop::new(customers);

    let started = Instant::now();
    let mut audience = shop.build();
    println!(
        "built a sample shop: {} customers, a year of events to {} ({:.1?})",
        audience.len(),
        shop.now,
        started.elapsed()
    );

    for (_, name, text) in SEGMENTS {
        let predicate = audience.predicate(text)?;
        audience.define_segment(name, predicate)?;
    }

    println!(
        "\nsizes at {} (bitmap matcher; `Audience::explain` shows each plan):",
        shop.now
    );
    println!(
        "{:<14} {:<22} {:>9} {:>7}  definition",
        "kind", "segment", "members", "share"
    );
    for (kind, name, text) in SEGMENTS {
        let started = Instant::now();
        let n = audience.count(&Predicate::segment(*name), shop.now)?;
        let took = started.elapsed();
        println!(
            "{kind:<14} {name:<22} {n:>9} {:>6.1}%  {text}  ({took:.0?})",
            100.0 * n as f64 / audience.len() as f64
        );
    }

    let first = audience.members(&Predicate::segment("vip_offer"), shop.now)?;
    if let Some(id) = first.first() {
        println!(
            "\n{id} is in: {}",
            audience.segments_of(id, shop.now)?.join(", ")
        );
    }
    Ok(())
}
