//! Repeats B3's count for profiling: `cargo run --release -p segcore-benches --example
//! b3_profile -- <customers> <events per customer> <repeats>`.

use segcore_benches::{shop_with_events, B3};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().map_or(Ok(100_000), |s| s.parse())?;
    let events: u32 = args.next().map_or(Ok(10), |s| s.parse())?;
    let repeats: usize = args.next().map_or(Ok(50), |s| s.parse())?;
    let shop = shop_with_events(customers, events);
    let audience = shop.build();
    let predicate = audience.predicate(B3)?;
    let started = std::time::Instant::now();
    for _ in 0..repeats {
        std::hint::black_box(audience.count(&predicate, shop.now)?);
    }
    println!("{:?} per count", started.elapsed() / repeats as u32);
    Ok(())
}
