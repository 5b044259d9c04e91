//! Honest event data for the benchmarks, the shape of `benches/peers/events.py`: profiles with
//! a log-normal number of events (σ = 1.5, capped at 1000× the mean), three years of history
//! (longer than every window asked about), 30% purchases with an integer amount, rows in
//! random order.

use jiff::Timestamp;
use segcore::ingest::{EventColumns, PropertyColumn};
use segcore::Audience;

/// The instant the data ends at: 2026-11-01T12:00:00Z.
pub const NOW_SECOND: i64 = 1_793_534_400;

/// Days of history.
pub const HISTORY_DAYS: i64 = 3 * 365;

/// The sizes a benchmark was asked for: `[profiles] [mean events per profile]` on its
/// command line, 1,000,000 and 10 by default.
pub fn sizes_from_args() -> (usize, f64) {
    let mut args = std::env::args().skip(1);
    let profiles = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("profiles"));
    let mean = args
        .next()
        .map_or(10.0, |a| a.parse().expect("mean events"));
    (profiles, mean)
}

/// Events as columns, one row an event, in random order.
pub struct HonestEvents {
    /// Profile ids, `c00000000` on.
    pub ids: Vec<String>,
    /// Each row's profile (an index into `ids`).
    pub owner: Vec<u32>,
    /// Each row's time.
    pub times: Vec<Timestamp>,
    /// Whether each row is a purchase (else a page view).
    pub purchase: Vec<bool>,
    /// Each purchase's amount.
    pub amounts: Vec<Option<f64>>,
    /// Each row's id, one after another, as an Arrow string column holds them (the input, so
    /// laid out before any load is timed).
    pub row_ids: String,
    /// Where each row's id ends in `row_ids`.
    pub row_id_ends: Vec<usize>,
}

impl HonestEvents {
    /// `profiles` profiles with `mean` events each on average, seeded.
    pub fn generate(profiles: usize, mean: f64, seed: u64) -> HonestEvents {
        let mut rng = fastrand::Rng::with_seed(seed);
        let ids: Vec<String> = (0..profiles).map(|i| format!("c{i:08}")).collect();
        let mut owner: Vec<u32> = Vec::new();
        for p in 0..profiles {
            let (u, v) = (1.0 - rng.f64(), rng.f64());
            let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            let n = (mean * (1.5 * z - 1.125).exp().min(1000.0)).round() as usize;
            owner.extend(std::iter::repeat_n(p as u32, n));
        }
        rng.shuffle(&mut owner);
        let n = owner.len();
        let times = (0..n)
            .map(|_| {
                Timestamp::from_second(NOW_SECOND - rng.i64(0..HISTORY_DAYS * 86_400))
                    .expect("in range")
            })
            .collect();
        let purchase: Vec<bool> = (0..n).map(|_| rng.f64() < 0.3).collect();
        let amounts = purchase
            .iter()
            .map(|&p| p.then(|| (10.0 + rng.f64() * rng.f64() * 490.0).round()))
            .collect();
        let mut row_ids = String::with_capacity(n * ids.first().map_or(0, String::len));
        let mut row_id_ends = Vec::with_capacity(n);
        for &p in &owner {
            row_ids.push_str(&ids[p as usize]);
            row_id_ends.push(row_ids.len());
        }
        HonestEvents {
            ids,
            owner,
            times,
            purchase,
            amounts,
            row_ids,
            row_id_ends,
        }
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.owner.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }

    /// Loads the events into `audience` as one [`segcore::ingest::EventLoad`], in batches of
    /// `batch` rows (as the Python path hands over a table's record batches). The rows' ids
    /// are read from [`HonestEvents::row_ids`], laid out as an Arrow column holds them
    /// (reading each from its profile's own allocation made the load's id hashing a cache miss
    /// per row, which no Arrow caller pays).
    pub fn load_into(&self, audience: &mut Audience, batch: usize) {
        let ids: Vec<&str> = (0..self.len())
            .map(|row| {
                let from = row.checked_sub(1).map_or(0, |r| self.row_id_ends[r]);
                &self.row_ids[from..self.row_id_ends[row]]
            })
            .collect();
        let names: Vec<&str> = self
            .purchase
            .iter()
            .map(|&p| if p { "purchase" } else { "page_view" })
            .collect();
        let mut load = audience.event_load();
        for from in (0..self.len()).step_by(batch.max(1)) {
            let to = (from + batch).min(self.len());
            let properties = [("amount", PropertyColumn::Numbers(&self.amounts[from..to]))];
            load.add(&EventColumns {
                ids: &ids[from..to],
                names: &names[from..to],
                times: &self.times[from..to],
                properties: &properties,
            })
            .expect("valid rows");
        }
        load.finish();
    }
}
