//! RFM: recency, frequency and monetary scores from 1 to 5, by quintiles of the customers at a
//! given `now`, stored as attributes that predicates use; and the standard named RFM segments,
//! defined in one call.
//!
//! Quintiles follow the usual pandas recipe, so a data team's own computation agrees:
//! `pd.qcut(x.rank(method="first"), 5, labels=...)`: customers are ranked by the value (ties in
//! slot order, the order they first appeared), and rank `r` of `n` falls in the first quintile
//! `k` whose upper edge `1 + (n − 1)·k/5` it does not exceed. Recency is scored the other way
//! round: the most recent fifth scores 5.

use jiff::Timestamp;

use crate::error::Result;
use crate::insight::check_event_value;
use crate::language::Predicate;
use crate::limits::check_instant;
use crate::store::PropValue;
use crate::value::{AttrType, Value};
use crate::Audience;

/// The attribute holding the recency score.
pub const RFM_RECENCY: &str = "rfm_recency";
/// The attribute holding the frequency score.
pub const RFM_FREQUENCY: &str = "rfm_frequency";
/// The attribute holding the monetary score.
pub const RFM_MONETARY: &str = "rfm_monetary";

/// The standard RFM segments over the recency (R) and frequency (F) scores; every (R, F) cell
/// falls in exactly one:
///
/// | R \ F | 1 | 2 | 3 | 4 | 5 |
/// | --- | --- | --- | --- | --- | --- |
/// | 5 | new | potential loyalists | potential loyalists | champions | champions |
/// | 4 | new | potential loyalists | potential loyalists | loyal | loyal |
/// | 3 | hibernating | hibernating | hibernating | loyal | loyal |
/// | 2 | hibernating | hibernating | at risk | at risk | can't lose |
/// | 1 | lost | lost | at risk | at risk | can't lose |
pub const RFM_SEGMENTS: &[(&str, &str)] = &[
    ("rfm_champions", "rfm_recency == 5 and rfm_frequency >= 4"),
    ("rfm_loyal", "rfm_recency in [3, 4] and rfm_frequency >= 4"),
    (
        "rfm_potential_loyalists",
        "rfm_recency >= 4 and rfm_frequency in [2, 3]",
    ),
    ("rfm_new", "rfm_recency >= 4 and rfm_frequency == 1"),
    (
        "rfm_at_risk",
        "rfm_recency <= 2 and rfm_frequency in [3, 4]",
    ),
    ("rfm_cant_lose", "rfm_recency <= 2 and rfm_frequency == 5"),
    (
        "rfm_hibernating",
        "(rfm_recency == 3 and rfm_frequency <= 3) or (rfm_recency == 2 and rfm_frequency <= 2)",
    ),
    ("rfm_lost", "rfm_recency == 1 and rfm_frequency <= 2"),
];

/// What scoring did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfmSummary {
    /// Profiles with at least one of the event at or before `now`: scored.
    pub customers: u64,
    /// Other profiles that held scores from an earlier run: their scores were removed.
    pub cleared: u64,
}

/// One customer's raw values.
struct Customer {
    slot: u32,
    recency_ns: i128,
    frequency: u64,
    monetary: f64,
}

/// The 1-based quintile of each position `0..n` of a ranking (pandas' qcut on ranks 1..n).
pub fn quintiles(n: usize) -> Vec<u8> {
    (1..=n)
        .map(|rank| {
            if n == 1 {
                return 1;
            }
            let r = rank as f64;
            (1..=5u8)
                .find(|&k| r <= 1.0 + (n - 1) as f64 * f64::from(k) / 5.0)
                .unwrap_or(5)
        })
        .collect()
}

/// Scores of `customers` by `key`, ascending, ties in slot order (customers come in slot
/// order): the quintile of each, in `customers`' order.
fn scores_by(customers: &[Customer], key: impl Fn(&Customer) -> f64) -> Vec<u8> {
    let mut order: Vec<usize> = (0..customers.len()).collect();
    order.sort_by(|&a, &b| key(&customers[a]).total_cmp(&key(&customers[b])));
    let bins = quintiles(customers.len());
    let mut scores = vec![0u8; customers.len()];
    for (position, &i) in order.iter().enumerate() {
        scores[i] = bins[position];
    }
    scores
}

impl Audience {
    /// Scores every profile that did `event` at or before `now` by recency (time since its
    /// last one), frequency (how many) and monetary value (the sum of the numeric property
    /// `value`), each from 1 to 5 by quintiles, and stores them as the number attributes
    /// [`RFM_RECENCY`], [`RFM_FREQUENCY`] and [`RFM_MONETARY`]; profiles without such an
    /// event lose scores an earlier run gave them. See the module for how ties rank.
    ///
    /// ```
    /// use segcore::{Audience, Event};
    /// let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let mut a = Audience::new();
    /// for i in 0..10i64 {
    ///     let at = jiff::Timestamp::from_second(now.as_second() - i * 86_400).unwrap();
    ///     for _ in 0..=i {
    ///         a.track(&format!("p{i}"), Event::new("purchase", at).value("amount", 10.0))?;
    ///     }
    /// }
    /// a.score_rfm("purchase", "amount", now)?;
    /// let p0 = a.profile("p0").unwrap();
    /// assert_eq!(p0.attributes["rfm_recency"], 5.into()); // bought today
    /// assert_eq!(p0.attributes["rfm_frequency"], 1.into()); // once
    /// a.define_rfm_segments()?;
    /// assert_eq!(a.members(&a.query("rfm_new")?, now)?, ["p0", "p1"]);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn score_rfm(&mut self, event: &str, value: &str, now: Timestamp) -> Result<RfmSummary> {
        check_instant(now, "`now`")?;
        check_event_value(
            &self.schema,
            event,
            value,
            AttrType::Number,
            "it cannot be a monetary value",
        )?;
        for name in [RFM_RECENCY, RFM_FREQUENCY, RFM_MONETARY] {
            self.schema.check_attribute(name, AttrType::Number)?;
        }
        let customers = self.customers(event, value, now);
        let recency = scores_by(&customers, |c| c.recency_ns as f64);
        let frequency = scores_by(&customers, |c| c.frequency as f64);
        let monetary = scores_by(&customers, |c| c.monetary);
        let scored: std::collections::HashSet<u32> = customers.iter().map(|c| c.slot).collect();
        let stale: Vec<String> = self
            .store
            .live_slots()
            .filter(|slot| !scored.contains(slot))
            .filter(|&slot| self.store.attribute(slot, RFM_RECENCY).is_some())
            .filter_map(|slot| self.store.record(slot).map(|r| r.id.to_string()))
            .collect();
        let writes: Vec<(String, [u8; 3])> = customers
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let id = self.store.record(c.slot)?.id.to_string();
                // The most recent fifth scores 5.
                Some((id, [6 - recency[i], frequency[i], monetary[i]]))
            })
            .collect();
        for name in [RFM_RECENCY, RFM_FREQUENCY, RFM_MONETARY] {
            self.declare_attribute(name, AttrType::Number)?;
        }
        for (id, [r, f, m]) in &writes {
            self.upsert(
                id,
                [
                    (RFM_RECENCY, Value::from(f64::from(*r))),
                    (RFM_FREQUENCY, Value::from(f64::from(*f))),
                    (RFM_MONETARY, Value::from(f64::from(*m))),
                ],
            )?;
        }
        for id in &stale {
            for name in [RFM_RECENCY, RFM_FREQUENCY, RFM_MONETARY] {
                self.unset(id, name)?;
            }
        }
        Ok(RfmSummary {
            customers: writes.len() as u64,
            cleared: stale.len() as u64,
        })
    }

    /// Defines (or redefines) the standard RFM segments of [`RFM_SEGMENTS`] over the scores
    /// [`Audience::score_rfm`] stores.
    pub fn define_rfm_segments(&mut self) -> Result<()> {
        for name in [RFM_RECENCY, RFM_FREQUENCY, RFM_MONETARY] {
            self.declare_attribute(name, AttrType::Number)?;
        }
        for (name, text) in RFM_SEGMENTS {
            let predicate = Predicate::parse(text)?;
            self.define_segment(name, predicate)?;
        }
        Ok(())
    }

    /// Live profiles with `event` at or before `now`, in slot order, with their raw values.
    fn customers(&self, event: &str, value: &str, now: Timestamp) -> Vec<Customer> {
        let (Some(name), key) = (
            self.store.event_names.get(event),
            self.store.keys.get(value),
        ) else {
            return Vec::new();
        };
        let now = now.as_nanosecond();
        self.store
            .live_slots()
            .filter_map(|slot| {
                let record = self.store.record(slot)?;
                let mut last = None;
                let (mut frequency, mut monetary) = (0u64, 0.0);
                for e in record.events() {
                    if e.name != name || e.ns() > now {
                        continue;
                    }
                    frequency += 1;
                    last = Some(e.ns());
                    if let Some(PropValue::Number(x)) = key.and_then(|k| record.property(e, k)) {
                        monetary += x;
                    }
                }
                Some(Customer {
                    slot,
                    recency_ns: now - last?,
                    frequency,
                    monetary,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::quintiles;

    #[test]
    fn quintiles_follow_pandas_qcut_on_ranks() {
        // pd.qcut(pd.Series(range(1, n + 1)), 5, labels=False) + 1, for these n:
        assert_eq!(quintiles(10), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        assert_eq!(quintiles(7), [1, 1, 2, 3, 4, 5, 5]);
        assert_eq!(quintiles(11), [1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        assert_eq!(quintiles(6), [1, 1, 2, 3, 4, 5]);
        assert_eq!(quintiles(4), [1, 2, 4, 5]);
        assert_eq!(quintiles(3), [1, 3, 5]);
        assert_eq!(quintiles(2), [1, 5]);
        assert_eq!(quintiles(1), [1]);
        assert_eq!(quintiles(0), Vec::<u8>::new());
    }
}
