//! The main job on a generated sample shop: build an audience, define segments of every kind
//! a marketer uses, and print each segment's size.
//!
//! Run: `cargo run --release --example shop` (optionally `-- <customers>`, default 100000).

use std::time::Instant;

use segcore::sample::SampleShop;
use segcore::Predicate;

/// (kind, name, definition) of the segments shown.
const SEGMENTS: &[(&str, &str, &str)] = &[
    (
        "demographic",
        "young_nordics",
        r#"country in ["SE", "DK", "NO", "FI"] and age between 18 and 29"#,
    ),
    (
        "psychographic",
        "outdoor_people",
        r#"tag any ["interest:hiking", "interest:running"] or interests contains "cycling""#,
    ),
    (
        "psychographic",
        "premium_quiz",
        r#"tag "quiz:premium" and not tag "quiz:budget""#,
    ),
    (
        "geographic",
        "near_stockholm",
        "within 50km of (59.33, 18.07)",
    ),
    (
        "behavioural",
        "repeat_shoe_buyers",
        r#"did purchase at least 2 times in last 90d where category == "shoes""#,
    ),
    (
        "behavioural",
        "cart_abandoners",
        "did add_to_cart in last 7d and not did purchase in last 7d",
    ),
    (
        "behavioural",
        "lapsed",
        "did purchase and last(purchase) before 90d ago",
    ),
    (
        "value",
        "big_spenders",
        "sum(purchase.amount in last 365d) > 1000",
    ),
    ("value", "high_basket", "avg(purchase.amount) >= 200"),
    (
        "source",
        "tiktok_black_friday",
        r#"utm_source == "tiktok" and utm_campaign == "black_friday""#,
    ),
    (
        "lifecycle",
        "new_this_month",
        "signed_up_at within this month",
    ),
    ("consent", "emailable", "consent email and email exists"),
    (
        "nested",
        "win_back",
        "segment lapsed and segment emailable and not tag \"churn_risk\"",
    ),
    (
        "nested",
        "vip_offer",
        r#"(tag "vip" or segment big_spenders) and segment emailable"#,
    ),
];

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
