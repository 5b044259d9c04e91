//! Feeds `benches/peers/b2.py`: builds the B2 shop, writes it as CSV for the peers (one row a
//! customer: country, age, and a 0/1 column for each tag B2 reads), times segcore's count of
//! the B2 segment, and prints one JSON line with the count and the timings.
//!
//! Usage: `b2_peers <customers> <csv path>`

use std::io::{BufWriter, Write};
use std::time::Instant;

use segcore::Value;
use segcore_benches::{b2_shop, B2};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().ok_or("customers")?.parse()?;
    let csv = args.next().ok_or("csv path")?;

    let shop = b2_shop(customers);
    let started = Instant::now();
    let audience = shop.build();
    let build_s = started.elapsed().as_secs_f64();

    let mut out = BufWriter::new(std::fs::File::create(&csv)?);
    writeln!(out, "id,country,age,interest_running,quiz_premium")?;
    for i in 0..customers {
        let id = format!("c{i:07}");
        let p = audience.profile(&id).ok_or("every customer exists")?;
        let (Some(Value::String(country)), Some(Value::Number(age))) =
            (p.attributes.get("country"), p.attributes.get("age"))
        else {
            return Err("country and age are set".into());
        };
        let has = |t: &str| u8::from(p.tags.contains_key(t));
        writeln!(
            out,
            "{id},{country},{age},{},{}",
            has("interest:running"),
            has("quiz:premium")
        )?;
    }
    out.flush()?;

    let p = audience.predicate(B2)?;
    let count = audience.count(&p, shop.now)?;
    let mut times: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let c = audience.count(&p, shop.now).expect("valid");
            assert_eq!(c, count);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"count\": {count}, \"median_us\": {:.1}, \"min_us\": {:.1}, \"build_s\": {build_s:.1}}}",
        times[times.len() / 2],
        times[0]
    );
    Ok(())
}
