//! Single writes in memory, live membership off — `track`, `upsert`, `tag` — each on a random
//! existing customer of a 100k-customer sample shop, beside the floor: pushing a 24-byte event
//! onto a plain `Vec`. The event, ids and values are made before the clock runs.
//!
//! Run: `cargo bench -p segcore-benches --bench writes` (issue 23's target: ≤ 0.5 µs a write).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use jiff::{SignedDuration, Timestamp};
use segcore::sample::{ProfileDetail, SampleShop};
use segcore::{Event, Value};

/// The shape of a stored event: what one write must at least append somewhere.
#[derive(Clone, Copy)]
struct Row {
    _name: u32,
    _second: i64,
    _nanosecond: i32,
    _props: u32,
}

fn writes(c: &mut Criterion) {
    let shop = SampleShop {
        detail: ProfileDetail::Minimal,
        ..SampleShop::new(100_000)
    };
    let mut audience = shop.build();
    let ids: Vec<String> = (0..shop.customers).map(|i| format!("c{i:07}")).collect();
    let mut rng = fastrand::Rng::with_seed(9);
    let mut at = shop.now;
    let mut next_time = move || {
        at += SignedDuration::from_millis(1);
        at
    };
    let mut g = c.benchmark_group("writes");
    let mut rows: Vec<Row> = Vec::new();
    g.bench_function("floor_vec_push_24_bytes", |b| {
        b.iter(|| {
            if rows.len() == 1 << 22 {
                rows.clear();
            }
            rows.push(black_box(Row {
                _name: 1,
                _second: 2,
                _nanosecond: 3,
                _props: 4,
            }));
        })
    });
    g.bench_function("track_purchase_with_amount", |b| {
        b.iter_batched(
            || {
                let id = &ids[rng.usize(0..ids.len())];
                let event = Event::new("purchase", next_time()).value("amount", 42.0);
                (id, event)
            },
            |(id, event)| audience.track(id, event).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("upsert_one_number", |b| {
        b.iter_batched(
            || {
                let id = &ids[rng.usize(0..ids.len())];
                (id, [("age", Value::Number(f64::from(rng.u32(18..80))))])
            },
            |(id, attributes)| audience.upsert(id, attributes).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let tags = ["vip", "churn_risk", "quiz:budget", "interest:yoga"];
    let t: Timestamp = shop.now;
    g.bench_function("tag", |b| {
        b.iter_batched(
            || {
                (
                    &ids[rng.usize(0..ids.len())],
                    tags[rng.usize(0..tags.len())],
                )
            },
            |(id, tag)| audience.tag(id, tag, t).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = writes
}
criterion_main!(benches);
