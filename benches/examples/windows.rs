//! Windowed event questions on honest data, beside the floor measured in the same run: the
//! tightest plain loop over the window's rows (purchases sorted by time, as columns) into a
//! per-profile accumulator, then a pass over the accumulators to count who passes. Every
//! count must equal segcore's.
//!
//! `cargo run --release -p segcore-benches --example windows -- [profiles] [mean events]`
//! (default 1,000,000 profiles, 10 events each). Issue 23's target: each question ≤ 100 ms
//! and within 2× the floor at 10M profiles and 100M events; B3 ≤ 50 ms.

use std::time::Instant;

use segcore::Audience;
use segcore_benches::honest::{sizes_from_args, HonestEvents, NOW_SECOND};
use segcore_benches::quantile;

const DAY_MS: i64 = 86_400_000;
const NOW_MS: i64 = NOW_SECOND * 1000;
/// October 2026 in UTC: the calendar month before now.
const OCTOBER_MS: (i64, i64) = (1_790_812_800_000, 1_793_491_200_000 - 1);

/// Purchases as the floor reads them: sorted by time, three columns.
struct Purchases {
    at_ms: Vec<i64>,
    owner: Vec<u32>,
    amount: Vec<f64>,
    profiles: usize,
}

impl Purchases {
    fn of(events: &HonestEvents) -> Purchases {
        let mut rows: Vec<(i64, u32, f64)> = (0..events.len())
            .filter(|&r| events.purchase[r])
            .map(|r| {
                let at = events.times[r].as_millisecond();
                (
                    at,
                    events.owner[r],
                    events.amounts[r].expect("a purchase's amount"),
                )
            })
            .collect();
        rows.sort_by_key(|r| r.0);
        Purchases {
            at_ms: rows.iter().map(|r| r.0).collect(),
            owner: rows.iter().map(|r| r.1).collect(),
            amount: rows.iter().map(|r| r.2).collect(),
            profiles: events.ids.len(),
        }
    }

    /// The rows within `[lo, hi]` (milliseconds, both inclusive).
    fn window(&self, (lo, hi): (i64, i64)) -> std::ops::Range<usize> {
        self.at_ms.partition_point(|&t| t < lo)..self.at_ms.partition_point(|&t| t <= hi)
    }

    fn counts(&self, w: (i64, i64)) -> Vec<u32> {
        let mut counts = vec![0u32; self.profiles];
        for i in self.window(w) {
            counts[self.owner[i] as usize] += 1;
        }
        counts
    }

    fn sums(&self, w: (i64, i64)) -> Vec<f64> {
        let mut sums = vec![0f64; self.profiles];
        for i in self.window(w) {
            sums[self.owner[i] as usize] += self.amount[i];
        }
        sums
    }

    fn fold(&self, w: (i64, i64), start: f64, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
        let mut acc = vec![start; self.profiles];
        for i in self.window(w) {
            let a = &mut acc[self.owner[i] as usize];
            *a = f(*a, self.amount[i]);
        }
        acc
    }
}

fn last(days: i64) -> (i64, i64) {
    (NOW_MS - days * DAY_MS, NOW_MS)
}

/// A question: its text, and the floor's answer to it.
type Question = (&'static str, Box<dyn Fn(&Purchases) -> usize>);

fn questions() -> Vec<Question> {
    vec![
        (
            "did purchase at least 2 times in last 30d and sum(purchase.amount in last 365d) > 500",
            Box::new(|p| {
                let (counts, sums) = (p.counts(last(30)), p.sums(last(365)));
                (0..p.profiles)
                    .filter(|&i| counts[i] >= 2 && sums[i] > 500.0)
                    .count()
            }),
        ),
        (
            "did purchase at least 3 times in last 90d",
            Box::new(|p| p.counts(last(90)).iter().filter(|&&c| c >= 3).count()),
        ),
        (
            "did purchase at least 10 times in last 365d",
            Box::new(|p| p.counts(last(365)).iter().filter(|&&c| c >= 10).count()),
        ),
        (
            "avg(purchase.amount in last 7d) >= 200",
            Box::new(|p| {
                let (counts, sums) = (p.counts(last(7)), p.sums(last(7)));
                (0..p.profiles)
                    .filter(|&i| counts[i] > 0 && sums[i] / f64::from(counts[i]) >= 200.0)
                    .count()
            }),
        ),
        (
            "max(purchase.amount in last 365d) > 450",
            Box::new(|p| {
                let max = p.fold(last(365), f64::NEG_INFINITY, f64::max);
                max.iter().filter(|&&m| m > 450.0).count()
            }),
        ),
        (
            "min(purchase.amount in last 30d) < 20",
            Box::new(|p| {
                let min = p.fold(last(30), f64::INFINITY, f64::min);
                min.iter().filter(|&&m| m < 20.0).count()
            }),
        ),
        (
            "sum(purchase.amount in last calendar month) > 300",
            Box::new(|p| p.sums(OCTOBER_MS).iter().filter(|&&s| s > 300.0).count()),
        ),
    ]
}

/// The median of five timed runs, in ms, and the answer.
fn timed(mut f: impl FnMut() -> usize) -> (usize, f64) {
    let mut answer = f();
    let mut samples: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            answer = f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (answer, quantile(&samples, 0.5))
}

fn main() {
    let (profiles, mean) = sizes_from_args();
    let events = HonestEvents::generate(profiles, mean, 42);
    let purchases = Purchases::of(&events);
    let mut audience = Audience::new();
    let start = Instant::now();
    events.load_into(&mut audience, 1_000_000);
    println!(
        "{profiles} profiles, {} events ({} purchases) over three years, random order; \
         loaded in {:.1} s",
        events.len(),
        purchases.at_ms.len(),
        start.elapsed().as_secs_f64()
    );
    let now = jiff::Timestamp::from_second(NOW_SECOND).expect("in range");
    println!(
        "{:>10} {:>10} {:>7} {:>9}  question",
        "segcore", "floor", "ratio", "count"
    );
    // SEGCORE_ONLY=<part of a question> runs just those (for a profiler).
    let only = std::env::var("SEGCORE_ONLY").unwrap_or_default();
    for (text, floor) in questions().into_iter().filter(|(t, _)| t.contains(&only)) {
        let p = audience.predicate(text).expect("parses");
        if std::env::var_os("SEGCORE_EXPLAIN").is_some() {
            println!("{}", audience.explain(&p, now).expect("explains"));
        }
        let (ours, ours_ms) = timed(|| audience.count(&p, now).expect("counts") as usize);
        if !only.is_empty() {
            let start = Instant::now();
            while start.elapsed().as_secs() < 5 {
                audience.count(&p, now).expect("counts");
            }
        }
        let (theirs, floor_ms) = timed(|| floor(&purchases));
        assert_eq!(ours, theirs, "{text}: segcore {ours}, floor {theirs}");
        println!(
            "{ours_ms:>8.2}ms {floor_ms:>8.2}ms {:>6.2}× {ours:>9}  {text}",
            ours_ms / floor_ms
        );
    }
}
