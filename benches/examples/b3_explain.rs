//! Prints the plan of B3 on the shop with events: `cargo run --release -p segcore-benches
//! --example b3_explain -- <customers> <events per customer>`.

use segcore_benches::{shop_with_events, B3};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().map_or(Ok(100_000), |s| s.parse())?;
    let events: u32 = args.next().map_or(Ok(10), |s| s.parse())?;
    let shop = shop_with_events(customers, events);
    let audience = shop.build();
    let predicate = audience.predicate(B3)?;
    audience.count(&predicate, shop.now)?;
    print!("{}", audience.explain(&predicate, shop.now)?);
    Ok(())
}
