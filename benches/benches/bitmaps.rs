//! B1: which bitmap representation comes nearest the memory-bandwidth floor?
//!
//! Run: `cargo bench -p segcore-benches --bench bitmaps`
//!
//! Two sets over 10M slots, dense (half the slots each) and sparse (one slot in a thousand),
//! intersected and counted by: a plain `u64` AND + popcount loop (the floor, as compiled for
//! the baseline x86-64 target and dispatched at run time to an AVX2 build of the same loop),
//! roaring-rs, and CRoaring.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use segcore_benches::floor;

const SLOTS: u32 = 10_000_000;

fn random_set(seed: u64, per_thousand: u32) -> Vec<u32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..SLOTS)
        .filter(|_| rng.u32(0..1000) < per_thousand)
        .collect()
}

fn words(set: &[u32]) -> Vec<u64> {
    let mut w = vec![0u64; SLOTS.div_ceil(64) as usize];
    for &s in set {
        w[(s / 64) as usize] |= 1 << (s % 64);
    }
    w
}

fn and_plain(a: &[u64], b: &[u64], out: &mut [u64]) {
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x & y;
    }
}

fn b1(c: &mut Criterion) {
    for (density, per_thousand) in [("dense", 500), ("sparse", 1)] {
        let (sa, sb) = (random_set(1, per_thousand), random_set(2, per_thousand));
        let (wa, wb) = (words(&sa), words(&sb));
        let ra: roaring::RoaringBitmap = sa.iter().copied().collect();
        let rb: roaring::RoaringBitmap = sb.iter().copied().collect();
        let mut ca = croaring::Bitmap::of(&sa);
        let mut cb = croaring::Bitmap::of(&sb);
        ca.run_optimize();
        cb.run_optimize();
        let expected = floor::and_count_baseline(&wa, &wb);
        assert_eq!(ra.intersection_len(&rb), expected);
        assert_eq!(ca.and_cardinality(&cb), expected);
        assert_eq!(floor::and_count(&wa, &wb), expected);

        let mut g = c.benchmark_group(format!("b1_and_count_10M_{density}"));
        g.bench_function(BenchmarkId::new("floor_u64_baseline", ""), |b| {
            b.iter(|| floor::and_count_baseline(black_box(&wa), black_box(&wb)))
        });
        g.bench_function(BenchmarkId::new("floor_u64_avx2_dispatch", ""), |b| {
            b.iter(|| floor::and_count(black_box(&wa), black_box(&wb)))
        });
        g.bench_function(BenchmarkId::new("roaring_rs", ""), |b| {
            b.iter(|| black_box(&ra).intersection_len(black_box(&rb)))
        });
        g.bench_function(BenchmarkId::new("croaring", ""), |b| {
            b.iter(|| black_box(&ca).and_cardinality(black_box(&cb)))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("b1_and_materialise_10M_{density}"));
        let mut out = vec![0u64; wa.len()];
        g.bench_function(BenchmarkId::new("floor_u64", ""), |b| {
            b.iter(|| and_plain(black_box(&wa), black_box(&wb), &mut out))
        });
        g.bench_function(BenchmarkId::new("roaring_rs", ""), |b| {
            b.iter(|| black_box(&ra) & black_box(&rb))
        });
        g.bench_function(BenchmarkId::new("croaring", ""), |b| {
            b.iter(|| black_box(&ca).and(black_box(&cb)))
        });
        g.finish();
    }
}

criterion_group!(benches, b1);
criterion_main!(benches);
