//! Shared pieces of segcore's benchmarks: the memory-bandwidth floor, and the B2 and B3
//! questions on the sample shop. The criterion benches live in `benches/`; the peer comparison
//! script `peers/compare.py` runs the `peers_data` binary.

mod catalog;

pub mod honest;

pub use catalog::{attribute_catalog, realistic_catalog, scoped_catalog, stores_for};
use segcore::sample::{ProfileDetail, SampleShop};

/// B2: a four-clause segment (two tags, a categorical in-list, a numeric range).
pub const B2: &str = r#"tag "interest:running" and tag "quiz:premium" and country in ["SE", "DK"] and age between 25 and 45"#;

/// The shop B2 runs on: `customers` with country, age and tags, no events.
pub fn b2_shop(customers: usize) -> SampleShop {
    let mut shop = SampleShop::new(customers);
    shop.events_per_customer = 0;
    shop.detail = ProfileDetail::Minimal;
    shop
}

/// B3: purchase frequency in the last 30 days and spend over the last year.
pub const B3: &str =
    "did purchase at least 2 times in last 30d and sum(purchase.amount in last 365d) > 500";

/// The shop B3 runs on: `customers` with country, age and tags, and on average
/// `events_per_customer` events each (10 purchases in 100 events).
pub fn shop_with_events(customers: usize, events_per_customer: u32) -> SampleShop {
    let mut shop = b2_shop(customers);
    shop.events_per_customer = events_per_customer;
    shop
}

/// The process's peak resident memory (VmHWM), where `/proc` has it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The `q` quantile (0 to 1) of sorted figures, by the nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Profiles for the scale benchmarks: `SEGCORE_BENCH_PROFILES`, or 10 million.
pub fn bench_profiles() -> usize {
    std::env::var("SEGCORE_BENCH_PROFILES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000)
}

/// The floor: AND and count two sets stored as plain `u64` words.
pub mod floor {
    /// Random words in which each bit is set with probability `per_thousand / 1000`.
    pub fn random_words(seed: u64, bits: usize, per_thousand: u32) -> Vec<u64> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut words = vec![0u64; bits.div_ceil(64)];
        for bit in 0..bits {
            if rng.u32(0..1000) < per_thousand {
                words[bit / 64] |= 1 << (bit % 64);
            }
        }
        words
    }

    /// The loop as compiled for the baseline target.
    pub fn and_count_baseline(a: &[u64], b: &[u64]) -> u64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| u64::from((x & y).count_ones()))
            .sum()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    fn and_count_avx2(a: &[u64], b: &[u64]) -> u64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| u64::from((x & y).count_ones()))
            .sum()
    }

    /// The same loop, dispatched at run time to an AVX2 build where the CPU has it: the floor.
    pub fn and_count(a: &[u64], b: &[u64]) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports the features the function was compiled for.
            #[allow(unsafe_code)]
            return unsafe { and_count_avx2(a, b) };
        }
        and_count_baseline(a, b)
    }
}
