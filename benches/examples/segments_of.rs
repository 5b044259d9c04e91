//! Times `segments_of` for single profiles of the sample shop (the per-request call of a
//! backend): `cargo run --release -p segcore-benches --example segments_of -- <customers>`.

use std::time::Instant;

use segcore::sample::SampleShop;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let customers: usize = std::env::args().nth(1).map_or(Ok(100_000), |s| s.parse())?;
    let shop = SampleShop::new(customers);
    let mut audience = shop.build();
    for (name, text) in [
        (
            "young_nordics",
            r#"country in ["SE", "DK", "NO", "FI"] and age between 18 and 29"#,
        ),
        (
            "premium_quiz",
            r#"tag "quiz:premium" and not tag "quiz:budget""#,
        ),
        (
            "cart_abandoners",
            "did add_to_cart in last 7d and not did purchase in last 7d",
        ),
        ("big_spenders", "sum(purchase.amount in last 365d) > 1000"),
        ("lapsed", "did purchase and last(purchase) before 90d ago"),
        ("emailable", "consent email and email exists"),
        (
            "win_back",
            r#"segment lapsed and segment emailable and not tag "churn_risk""#,
        ),
    ] {
        let p = audience.predicate(text)?;
        audience.define_segment(name, p)?;
    }
    let ids: Vec<String> = (0..1000)
        .map(|i| format!("c{:07}", (i * 97) % customers))
        .collect();
    for (name, p) in audience.catalog().iter() {
        let started = Instant::now();
        for id in &ids {
            audience.matches(id, p, shop.now)?;
        }
        println!(
            "{name:<16} {:>8.1} µs per profile",
            started.elapsed().as_secs_f64() * 1e6 / ids.len() as f64
        );
    }
    let started = Instant::now();
    for id in &ids {
        std::hint::black_box(audience.segments_of(id, shop.now)?);
    }
    println!(
        "segments_of      {:>8.1} µs per profile",
        started.elapsed().as_secs_f64() * 1e6 / ids.len() as f64
    );
    Ok(())
}
