//! Insight at scale: the overlap matrix and the KPIs of 100 segments over the sample shop.
//!
//! ```text
//! cargo run --release -p segcore-benches --example insight -- [customers=10000000] [events=2]
//! ```
//!
//! The shop is minimal (country, age, tags) with `events` events a customer on average; the
//! 100 segments are countries, age bands, tags and event conditions and their conjunctions
//! (generated, seed 3). Timed once each, after a warm-up on 10 segments: `overlap` (100 member
//! sets and 4,950 intersections), `kpis` on a conversion (purchased in the last 30 days) and
//! on a value (purchase amounts over 90 days), `sizes` of the catalog, and `advise`.

use std::time::Instant;

use segcore::insight::{Advisor, Outcome};
use segcore_benches::{peak_rss_bytes, shop_with_events};

const COUNTRIES: &[&str] = &["SE", "DK", "NO", "FI", "DE", "US"];
const TAGS: &[&str] = &[
    "interest:running",
    "interest:hiking",
    "interest:yoga",
    "vip",
    "quiz:premium",
];
const EVENTS: &[&str] = &["page_view", "add_to_cart", "purchase", "email_open"];

fn segments(n: usize) -> Vec<(String, String)> {
    let mut rng = fastrand::Rng::with_seed(3);
    (0..n)
        .map(|i| {
            let country = COUNTRIES[rng.usize(..COUNTRIES.len())];
            let tag = TAGS[rng.usize(..TAGS.len())];
            let event = EVENTS[rng.usize(..EVENTS.len())];
            let age = 18 + rng.u32(..50);
            let days = [7, 30, 90, 365][rng.usize(..4)];
            let text = match i % 5 {
                0 => format!(r#"country == "{country}""#),
                1 => format!("age between {age} and {}", age + 10),
                2 => format!(r#"tag "{tag}""#),
                3 => format!("did {event} in last {days}d"),
                _ => format!(
                    r#"country == "{country}" and tag "{tag}" and did {event} in last {days}d"#
                ),
            };
            (format!("s{i:03}"), text)
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let customers: usize = args.first().map_or(10_000_000, |a| a.parse().unwrap());
    let events: u32 = args.get(1).map_or(2, |a| a.parse().unwrap());
    let start = Instant::now();
    let shop = shop_with_events(customers, events);
    let now = shop.now;
    let mut a = shop.build();
    for (name, text) in segments(100) {
        let p = a.predicate(&text).unwrap();
        a.define_segment(&name, p).unwrap();
    }
    println!(
        "{customers} customers, ~{} events, 100 segments: built in {:.1?}",
        customers as u64 * u64::from(events),
        start.elapsed()
    );
    let names: Vec<String> = a.catalog().iter().map(|(n, _)| n.to_owned()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let bought = Outcome::Converts {
        predicate: a.predicate("did purchase in last 30d").unwrap(),
        at: now,
    };
    let from = jiff::Timestamp::from_second(now.as_second() - 90 * 86_400).unwrap();
    let spent = Outcome::Sum {
        event: "purchase".into(),
        property: "amount".into(),
        from,
        to: now,
    };
    // Warm-up.
    a.kpis(&names[..10], &bought, now, 0.95).unwrap();

    let time = |label: &str, f: &mut dyn FnMut() -> usize| {
        let start = Instant::now();
        let n = f();
        println!("{label:<52} {:>10.2?}  ({n})", start.elapsed());
    };
    time("overlap of 100 segments (4,950 pairs)", &mut || {
        a.overlap(&names, now).unwrap().intersections.len()
    });
    time("kpis of 100 segments, a conversion", &mut || {
        a.kpis(&names, &bought, now, 0.95).unwrap().rows.len()
    });
    time(
        "kpis of 100 segments, a value (sum over 90 days)",
        &mut || a.kpis(&names, &spent, now, 0.95).unwrap().rows.len(),
    );
    time("sizes of the catalog", &mut || a.sizes(now).unwrap().len());
    time("advise (100 segments, conversion)", &mut || {
        a.advise(&Advisor::new(bought.clone(), now, 0.01))
            .unwrap()
            .findings
            .len()
    });
    if let Some(rss) = peak_rss_bytes() {
        println!("peak RSS {:.1} GB", rss as f64 / 1e9);
    }
}
