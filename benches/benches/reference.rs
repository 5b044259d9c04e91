//! Baseline figures for the reference evaluator and the parser, on the shared sample shop.
//!
//! Run: `cargo bench -p segcore-benches --bench reference`
//!
//! The reference evaluator is the definition of meaning, not the fast path; these figures are
//! the floor the bitmap matcher is measured against.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use segcore::sample::SampleShop;
use segcore::Predicate;

const SEGMENTS: &[(&str, &str)] = &[
    (
        "tags_and_attributes",
        r#"tag "vip" and country in ["SE", "DK"] and age between 18 and 40"#,
    ),
    (
        "event_count_window",
        "did purchase at least 2 times in last 30d",
    ),
    ("aggregate", "sum(purchase.amount in last 365d) > 500"),
    ("geo", "within 50km of (59.33, 18.07)"),
];

fn reference(c: &mut Criterion) {
    let shop = SampleShop::new(10_000);
    let audience = shop.build();
    let mut group = c.benchmark_group("reference_count_10k");
    group.throughput(Throughput::Elements(audience.len() as u64));
    for (name, text) in SEGMENTS {
        let p = audience.predicate(text).unwrap();
        group.bench_function(*name, |b| {
            b.iter(|| audience.count(black_box(&p), shop.now).unwrap())
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let text = r#"country in ["SE", "DK"] and tag "vip"
        and did purchase at least 2 times in last 30d where category == "shoes"
        and sum(purchase.amount in last 365d) > 500
        and not did email_open in last 60d
        and within 50km of (59.33, 18.07)
        and consent email"#;
    c.bench_function("parse_flavour_example", |b| {
        b.iter(|| Predicate::parse(black_box(text)).unwrap())
    });
    let p = Predicate::parse(text).unwrap();
    let json = p.to_json();
    c.bench_function("from_json_flavour_example", |b| {
        b.iter(|| Predicate::from_json(black_box(&json)).unwrap())
    });
}

criterion_group!(benches, reference, parse);
criterion_main!(benches);
