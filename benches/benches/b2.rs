//! B2: a four-clause segment (two tags, a categorical in-list, a numeric range) counted over
//! 10M profiles, beside the floor (AND + count of two dense 10M-slot sets) in the same run.
//!
//! Run: `cargo bench -p segcore-benches --bench b2` (`SEGCORE_BENCH_PROFILES` changes the size;
//! building 10M profiles takes a minute or two and a few GB).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use segcore::Predicate;
use segcore_benches::{b2_shop, bench_profiles, floor, B2};

fn b2(c: &mut Criterion) {
    let n = bench_profiles();
    let shop = b2_shop(n);
    let audience = shop.build();
    let p = audience.predicate(B2).unwrap();
    eprintln!("{}", audience.explain(&p, shop.now).unwrap());
    let (a, b) = (
        floor::random_words(1, n, 500),
        floor::random_words(2, n, 500),
    );

    let mut g = c.benchmark_group(format!("b2_{n}"));
    g.bench_function("floor_and_count_dense", |bench| {
        bench.iter(|| floor::and_count(black_box(&a), black_box(&b)))
    });
    g.bench_function("segcore_count", |bench| {
        bench.iter(|| audience.count(black_box(&p), shop.now).unwrap())
    });
    g.bench_function("segcore_members", |bench| {
        bench.iter(|| audience.member_slots(black_box(&p), shop.now).unwrap())
    });
    let parsed = |text: &str| Predicate::parse(text).unwrap();
    g.bench_function("segcore_parse_validate_count", |bench| {
        bench.iter(|| {
            let p = parsed(black_box(B2));
            audience.count(&p, shop.now).unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = b2
}
criterion_main!(benches);
