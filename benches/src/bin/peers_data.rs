//! Feeds `benches/peers/compare.py`: builds the sample shop, writes it as CSV for the peers,
//! times segcore's counts of B2 and B3, and prints one JSON line with the counts and timings.
//!
//! `customers.csv` has one row a customer: its number, country, age, and a 0/1 column for each
//! tag B2 reads. `events.csv` has one row an event: customer number, name, time in epoch
//! milliseconds, and the `amount` property (empty when the event has none).
//!
//! Usage: `peers_data <customers> <mean events per customer> <output directory>`

use std::io::{BufWriter, Write};
use std::time::Instant;

use segcore::{Audience, Predicate, Value};
use segcore_benches::{peak_rss_bytes, shop_with_events, B2, B3};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().ok_or("customers")?.parse()?;
    let events: u32 = args.next().ok_or("events per customer")?.parse()?;
    let dir = std::path::PathBuf::from(args.next().ok_or("output directory")?);

    let shop = shop_with_events(customers, events);
    let started = Instant::now();
    let audience = shop.build();
    let build_s = started.elapsed().as_secs_f64();
    let built_rss = peak_rss_bytes().unwrap_or(0);

    let mut people = BufWriter::new(std::fs::File::create(dir.join("customers.csv"))?);
    let mut timeline = BufWriter::new(std::fs::File::create(dir.join("events.csv"))?);
    writeln!(people, "customer,country,age,interest_running,quiz_premium")?;
    writeln!(timeline, "customer,name,at_ms,amount")?;
    let mut total_events = 0usize;
    for i in 0..customers {
        let p = audience
            .profile(&format!("c{i:07}"))
            .ok_or("every customer exists")?;
        let (Some(Value::String(country)), Some(Value::Number(age))) =
            (p.attributes.get("country"), p.attributes.get("age"))
        else {
            return Err("country and age are set".into());
        };
        let has = |t: &str| u8::from(p.tags.contains_key(t));
        writeln!(
            people,
            "{i},{country},{age},{},{}",
            has("interest:running"),
            has("quiz:premium")
        )?;
        for e in &p.events {
            let amount = e.properties.iter().find(|(k, _)| k == "amount");
            let at_ms = e.at.as_millisecond();
            match amount {
                Some((_, Value::Number(x))) => writeln!(timeline, "{i},{},{at_ms},{x}", e.name)?,
                _ => writeln!(timeline, "{i},{},{at_ms},", e.name)?,
            }
        }
        total_events += p.events.len();
    }
    people.flush()?;
    timeline.flush()?;

    let (b2_count, b2) = time_count(&audience, &audience.predicate(B2)?, shop.now, 200)?;
    let (b3_count, b3) = time_count(&audience, &audience.predicate(B3)?, shop.now, 21)?;
    println!(
        "{{\"customers\": {customers}, \"events\": {total_events}, \"build_s\": {build_s:.1}, \
                  \"peak_rss_bytes\": {built_rss}, \"b2_text\": {B2:?}, \"b3_text\": {B3:?}, \
         \"now_ms\": {}, \"b2\": {{\"count\": {b2_count}, \"median_us\": {:.1}, \"min_us\": {:.1}}}, \
         \"b3\": {{\"count\": {b3_count}, \"median_us\": {:.1}, \"min_us\": {:.1}}}}}",
        shop.now.as_millisecond(),
        b2.0,
        b2.1,
        b3.0,
        b3.1
    );
    Ok(())
}

/// The count, and the median and fastest of `runs` hot counts in microseconds.
fn time_count(
    audience: &Audience,
    predicate: &Predicate,
    now: jiff::Timestamp,
    runs: usize,
) -> segcore::Result<(u64, (f64, f64))> {
    let count = audience.count(predicate, now)?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let c = audience.count(predicate, now)?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(c, count, "a repeated count changed");
    }
    times.sort_by(f64::total_cmp);
    Ok((count, (times[runs / 2], times[0])))
}
