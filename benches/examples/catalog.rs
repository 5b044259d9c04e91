//! Catalog upkeep at scale: 10,000 segments — independent ones, chains of references as long
//! as the expanded-depth limit allows, and fans (many segments on one base) — timing define,
//! remove, redefining a fan's base, and reloading an image whose names run against the
//! dependency order: `cargo run --release -p segcore-benches --example catalog -- [segments]`.

use std::time::Instant;

use segcore::Audience;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = std::env::args().nth(1).map_or(Ok(10_000), |s| s.parse())?;
    let mut audience = Audience::new();
    let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse()?;
    audience.tag("ada", "vip", now)?;
    audience.upsert("ada", [("age", 36.into())])?;

    // A third independent, a third in chains of 60 (each refers to the next; names count
    // down so that sorted order is the reverse of dependency order), a third fanned out
    // over ten bases.
    let third = total / 3;
    let mut texts: Vec<(String, String)> = Vec::with_capacity(total);
    for i in 0..third {
        texts.push((format!("solo_{i:05}"), format!("age > {}", i % 90)));
    }
    const CHAIN: usize = 60;
    for c in 0..third.div_ceil(CHAIN) {
        let len = CHAIN.min(third - c * CHAIN);
        for k in (0..len).rev() {
            let text = if k + 1 == len {
                "tag \"vip\"".to_owned()
            } else {
                format!("segment chain_{c:03}_{:02} and age > {k}", k + 1)
            };
            texts.push((format!("chain_{c:03}_{k:02}"), text));
        }
    }
    for b in 0..10 {
        texts.push((format!("base_{b}"), format!("age > {b}")));
    }
    for i in 0..(total - texts.len()) {
        texts.push((
            format!("fan_{i:05}"),
            format!("segment base_{} and not tag \"x{i}\"", i % 10),
        ));
    }

    let start = Instant::now();
    for (name, text) in &texts {
        let p = audience.predicate(text)?;
        audience.define_segment(name, p)?;
    }
    let define_all = start.elapsed();
    println!(
        "define {} segments: {:?} ({:?} each)",
        texts.len(),
        define_all,
        define_all / texts.len() as u32
    );

    let start = Instant::now();
    let image = audience.to_bytes();
    let save = start.elapsed();
    let start = Instant::now();
    let reloaded = Audience::from_bytes(&image)?;
    let reload = start.elapsed();
    assert_eq!(reloaded.catalog(), audience.catalog());
    println!("save image: {save:?}; reload (topological order): {reload:?}");

    let p = audience.predicate("tag \"vip\" or age > 40")?;
    let start = Instant::now();
    for i in 0..1_000 {
        audience.define_segment(&format!("extra_{i}"), p.clone())?;
    }
    println!(
        "define one more (catalog of {total}): {:?}",
        start.elapsed() / 1_000
    );
    let start = Instant::now();
    for i in 0..1_000 {
        audience.remove_segment(&format!("extra_{i}"))?;
    }
    println!(
        "remove one (catalog of {total}): {:?}",
        start.elapsed() / 1_000
    );

    let start = Instant::now();
    let fan_base = audience.predicate("age > 50")?;
    audience.define_segment("base_0", fan_base)?;
    println!(
        "redefine a base with {} dependants: {:?}",
        audience.catalog().used_by("base_0").count(),
        start.elapsed()
    );
    let start = Instant::now();
    let refused = audience.remove_segment("chain_000_59");
    println!(
        "refuse to remove a chain's end (in use): {:?} ({})",
        start.elapsed(),
        refused.is_err()
    );
    let start = Instant::now();
    let of = audience.segments_of("ada", now)?.len();
    println!(
        "segments_of one profile over {total}: {:?} ({of} segments)",
        start.elapsed()
    );
    Ok(())
}
