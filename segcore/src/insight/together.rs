//! Segments of one: which items go together, and what to offer one person.
//!
//! The group lever: co-occurrence over a string property of an event (`purchase.sku`), where a
//! basket is one profile's distinct items — "80% of buyers of X also buy Y". Pairs are counted
//! only among items frequent enough on their own (an item rarer than the minimum support
//! cannot be in a pair that reaches it), over a dense triangle when those items are few and a
//! hash map otherwise.
//!
//! The individual lever: the person's own history weighs what co-occurrence suggests —
//! an item scores the sum, over the items they have, of how often they had it times the
//! confidence that its buyers also buy the candidate. What they already have is never offered;
//! without history (or to fill up to `k`) the most popular items stand in.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::error::{Error, NameKind, Result};
use crate::insight::check_event_value;
use crate::store::PropValue;
use crate::value::AttrType;
use crate::Audience;

/// One profile's basket: its slot, and each distinct item (the store's string id) with how
/// many times it had it.
type Basket = (u32, Vec<(u32, u32)>);

/// Frequent items past which pairs are counted in a hash map rather than a dense triangle.
const DENSE_ITEMS: usize = 4096;

/// Two items bought by the same people.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemPair {
    /// The item bought.
    pub item: String,
    /// The item also bought.
    pub with: String,
    /// Baskets holding both.
    pub count: u64,
    /// `count` as a share of all baskets.
    pub support: f64,
    /// The share of `item`'s baskets that hold `with`.
    pub confidence: f64,
    /// `confidence` over `with`'s own support: how much more likely than chance.
    pub lift: f64,
}

/// The co-occurrence index: item supports, and the counts of the pairs that reach the
/// minimum support.
#[derive(Debug, Clone)]
pub struct CoOccurrence {
    event: String,
    property: String,
    baskets: u64,
    min_support: f64,
    /// Item names, by item index.
    names: Vec<String>,
    /// Baskets holding each item.
    counts: Vec<u64>,
    /// Item index by the store's string id.
    index: HashMap<u32, usize>,
    /// For each item, its frequent partners and the baskets holding both, by count.
    partners: Vec<Vec<(usize, u64)>>,
}

impl CoOccurrence {
    /// How many baskets (profiles with at least one item).
    pub fn baskets(&self) -> u64 {
        self.baskets
    }

    /// The minimum support pairs were counted at.
    pub fn min_support(&self) -> f64 {
        self.min_support
    }

    /// Distinct items seen.
    pub fn items(&self) -> usize {
        self.names.len()
    }

    /// The share of baskets holding `item` (0 for an item never seen).
    pub fn support(&self, item: &str) -> f64 {
        self.position(item)
            .map_or(0.0, |i| self.counts[i] as f64 / self.baskets as f64)
    }

    fn position(&self, item: &str) -> Option<usize> {
        self.names.iter().position(|n| n == item)
    }

    fn pair(&self, item: usize, with: usize, count: u64) -> ItemPair {
        let baskets = self.baskets as f64;
        let confidence = count as f64 / self.counts[item] as f64;
        ItemPair {
            item: self.names[item].clone(),
            with: self.names[with].clone(),
            count,
            support: count as f64 / baskets,
            confidence,
            lift: confidence / (self.counts[with] as f64 / baskets),
        }
    }

    /// Every pair at or above the minimum support, once (`item` before `with` by name), by
    /// count, highest first.
    pub fn pairs(&self) -> Vec<ItemPair> {
        let mut out: Vec<ItemPair> = self
            .partners
            .iter()
            .enumerate()
            .flat_map(|(i, partners)| {
                partners
                    .iter()
                    .filter(move |(j, _)| self.names[i] < self.names[*j])
                    .map(move |&(j, count)| self.pair(i, j, count))
            })
            .collect();
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.item.cmp(&b.item))
                .then_with(|| a.with.cmp(&b.with))
        });
        out
    }

    /// The items most bought with `item` (at or above the minimum support together), by
    /// confidence, then lift: "buyers of X also buy". [`Error::UnknownName`] for an item
    /// never seen.
    pub fn bought_with(&self, item: &str, k: usize) -> Result<Vec<ItemPair>> {
        let i = self.position(item).ok_or_else(|| Error::UnknownName {
            kind: NameKind::Item,
            name: item.to_owned(),
            suggestion: crate::suggest::nearest(item, self.names.iter().map(String::as_str)),
        })?;
        let mut out: Vec<ItemPair> = self.partners[i]
            .iter()
            .map(|&(j, count)| self.pair(i, j, count))
            .collect();
        out.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(b.lift.total_cmp(&a.lift))
                .then_with(|| a.with.cmp(&b.with))
        });
        out.truncate(k);
        Ok(out)
    }
}

/// Why an item is recommended.
#[derive(Debug, Clone, PartialEq)]
pub enum Because {
    /// Buyers of this item, which the person has, also buy it (the largest contribution).
    BoughtWith(String),
    /// It is among the most popular items (no history, or not enough to fill `k`).
    Popular,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// The item.
    pub item: String,
    /// Its score: the sum of (times the person had an item) × (confidence that that item's
    /// buyers buy this one); for a popular item, its support.
    pub score: f64,
    /// Why.
    pub because: Because,
}

impl Audience {
    /// Counts which values of the string property `property` of `event` are bought together:
    /// a basket is one profile's distinct values; pairs are kept when at least `min_support`
    /// of the baskets hold both.
    ///
    /// ```
    /// use segcore::{Audience, Event};
    /// let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let mut a = Audience::new();
    /// for (id, skus) in [("a", "tent stove"), ("b", "tent stove mat"), ("c", "tent"), ("d", "mat")] {
    ///     for sku in skus.split(' ') {
    ///         a.track(id, Event::new("purchase", now).property("sku", sku))?;
    ///     }
    /// }
    /// let together = a.co_occurrence("purchase", "sku", 0.25)?;
    /// let with_stove = together.bought_with("stove", 5)?;
    /// assert_eq!((with_stove[0].with.as_str(), with_stove[0].confidence), ("tent", 1.0));
    /// let picks = a.recommend("c", &together, 2)?;
    /// assert_eq!(picks[0].item, "stove"); // 2 of tent's 3 buyers also bought a stove
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn co_occurrence(
        &self,
        event: &str,
        property: &str,
        min_support: f64,
    ) -> Result<CoOccurrence> {
        self.co_occurrence_counted(event, property, min_support, DENSE_ITEMS)
    }

    /// [`Audience::co_occurrence`], counting pairs densely up to `dense_items` frequent items.
    fn co_occurrence_counted(
        &self,
        event: &str,
        property: &str,
        min_support: f64,
        dense_items: usize,
    ) -> Result<CoOccurrence> {
        if !(min_support > 0.0 && min_support <= 1.0) {
            return Err(Error::InvalidValue(format!(
                "the minimum support must be above 0 and at most 1, not {min_support}"
            )));
        }
        let baskets = self.baskets(event, property)?;
        let mut index: HashMap<u32, usize> = HashMap::new();
        let mut names = Vec::new();
        let mut counts: Vec<u64> = Vec::new();
        for (_, basket) in &baskets {
            for &(item, _) in basket {
                let i = *index.entry(item).or_insert_with(|| {
                    names.push(self.store.prop_strings.name(item).to_owned());
                    counts.push(0);
                    names.len() - 1
                });
                counts[i] += 1;
            }
        }
        let total = baskets.len() as u64;
        // The smallest count that reaches the support (a small tolerance for rounding).
        let min_count = ((min_support * total as f64) - 1e-9).ceil().max(1.0) as u64;
        let frequent: Vec<usize> = (0..names.len())
            .filter(|&i| counts[i] >= min_count)
            .collect();
        let mut rank = vec![usize::MAX; names.len()];
        for (r, &i) in frequent.iter().enumerate() {
            rank[i] = r;
        }
        let f = frequent.len();
        let mut found: Vec<(usize, usize, u64)> = Vec::new();
        let each_pair = |visit: &mut dyn FnMut(usize, usize)| {
            let mut items: Vec<usize> = Vec::new();
            for (_, basket) in &baskets {
                items.clear();
                items.extend(
                    basket
                        .iter()
                        .map(|(item, _)| rank[index[item]])
                        .filter(|&r| r != usize::MAX),
                );
                items.sort_unstable();
                for (x, &a) in items.iter().enumerate() {
                    for &b in &items[x + 1..] {
                        visit(a, b);
                    }
                }
            }
        };
        if f <= dense_items {
            // Row a holds pairs (a, b) for b > a: offset(a) = a·f − a(a+1)/2.
            let offset = |a: usize| a * f - a * (a + 1) / 2;
            let mut triangle = vec![0u32; f * f.saturating_sub(1) / 2];
            each_pair(&mut |a, b| triangle[offset(a) + (b - a - 1)] += 1);
            for a in 0..f {
                for b in a + 1..f {
                    let count = u64::from(triangle[offset(a) + (b - a - 1)]);
                    if count >= min_count {
                        found.push((frequent[a], frequent[b], count));
                    }
                }
            }
        } else {
            let mut map: HashMap<(usize, usize), u64> = HashMap::new();
            each_pair(&mut |a, b| *map.entry((a, b)).or_insert(0) += 1);
            found.extend(
                map.into_iter()
                    .filter(|&(_, count)| count >= min_count)
                    .map(|((a, b), count)| (frequent[a], frequent[b], count)),
            );
        }
        let mut partners: Vec<Vec<(usize, u64)>> = vec![Vec::new(); names.len()];
        for (a, b, count) in found {
            partners[a].push((b, count));
            partners[b].push((a, count));
        }
        for p in &mut partners {
            p.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        }
        Ok(CoOccurrence {
            event: event.to_owned(),
            property: property.to_owned(),
            baskets: total,
            min_support,
            names,
            counts,
            index,
            partners,
        })
    }

    /// Up to `k` items for one profile: co-occurrence weighed by the person's own history,
    /// never an item they already have, filled up with the most popular items.
    pub fn recommend(
        &self,
        id: &str,
        together: &CoOccurrence,
        k: usize,
    ) -> Result<Vec<Recommendation>> {
        let slot = self.existing_slot(id)?;
        let history = self.history(slot, together);
        Ok(recommend_from(&history, together, k))
    }

    /// [`Audience::recommend`] for every member of `segment` (a defined segment's name or a
    /// predicate's text) at `now`, by id in slot order.
    pub fn recommend_segment(
        &self,
        segment: &str,
        together: &CoOccurrence,
        k: usize,
        now: Timestamp,
    ) -> Result<Vec<(String, Vec<Recommendation>)>> {
        let members = self.member_sets(&[segment], now)?.remove(0);
        Ok(members
            .iter()
            .filter_map(|slot| {
                let id = self.store.record(slot)?.id.to_string();
                let history = self.history(slot, together);
                Some((id, recommend_from(&history, together, k)))
            })
            .collect())
    }

    /// Each live profile's distinct values of `event.property` with how many times it had
    /// each, for profiles with at least one.
    fn baskets(&self, event: &str, property: &str) -> Result<Vec<Basket>> {
        check_event_value(
            &self.schema,
            event,
            property,
            AttrType::String,
            "items are strings (skus, titles)",
        )?;
        let (Some(name), Some(key)) = (
            self.store.event_names.get(event),
            self.store.keys.get(property),
        ) else {
            return Ok(Vec::new());
        };
        Ok(self
            .store
            .live_slots()
            .filter_map(|slot| {
                let record = self.store.record(slot)?;
                let mut items: Vec<(u32, u32)> = Vec::new();
                for e in record.events().filter(|e| e.name == name) {
                    if let Some(PropValue::String(item)) = record.property(e, key) {
                        match items.iter_mut().find(|(i, _)| *i == item) {
                            Some((_, n)) => *n += 1,
                            None => items.push((item, 1)),
                        }
                    }
                }
                (!items.is_empty()).then_some((slot, items))
            })
            .collect())
    }

    /// One profile's items in `together`'s terms: item index and times had.
    fn history(&self, slot: u32, together: &CoOccurrence) -> Vec<(usize, u32)> {
        let (Some(name), Some(key)) = (
            self.store.event_names.get(&together.event),
            self.store.keys.get(&together.property),
        ) else {
            return Vec::new();
        };
        let Some(record) = self.store.record(slot) else {
            return Vec::new();
        };
        let mut had: Vec<(usize, u32)> = Vec::new();
        for e in record.events().filter(|e| e.name == name) {
            if let Some(PropValue::String(item)) = record.property(e, key) {
                if let Some(&i) = together.index.get(&item) {
                    match had.iter_mut().find(|(j, _)| *j == i) {
                        Some((_, n)) => *n += 1,
                        None => had.push((i, 1)),
                    }
                }
            }
        }
        had
    }
}

fn recommend_from(
    history: &[(usize, u32)],
    together: &CoOccurrence,
    k: usize,
) -> Vec<Recommendation> {
    let has = |i: usize| history.iter().any(|&(j, _)| j == i);
    // Candidate → (score, the item contributing most, its contribution).
    let mut scores: HashMap<usize, (f64, usize, f64)> = HashMap::new();
    for &(h, times) in history {
        for &(c, count) in &together.partners[h] {
            if has(c) {
                continue;
            }
            let part = f64::from(times) * count as f64 / together.counts[h] as f64;
            let entry = scores.entry(c).or_insert((0.0, h, 0.0));
            entry.0 += part;
            if part > entry.2 || (part == entry.2 && together.names[h] < together.names[entry.1]) {
                entry.1 = h;
                entry.2 = part;
            }
        }
    }
    let mut out: Vec<Recommendation> = scores
        .into_iter()
        .map(|(c, (score, from, _))| Recommendation {
            item: together.names[c].clone(),
            score,
            because: Because::BoughtWith(together.names[from].clone()),
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.item.cmp(&b.item))
    });
    out.truncate(k);
    if out.len() < k {
        let mut popular: Vec<usize> = (0..together.names.len())
            .filter(|&i| !has(i) && !out.iter().any(|r| r.item == together.names[i]))
            .collect();
        popular.sort_by(|&a, &b| {
            together.counts[b]
                .cmp(&together.counts[a])
                .then_with(|| together.names[a].cmp(&together.names[b]))
        });
        out.extend(
            popular
                .into_iter()
                .take(k - out.len())
                .map(|i| Recommendation {
                    item: together.names[i].clone(),
                    score: together.counts[i] as f64 / together.baskets as f64,
                    because: Because::Popular,
                }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{Audience, Event};

    #[test]
    fn the_dense_and_the_hashed_counts_agree() {
        let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
        let mut a = Audience::new();
        let mut rng = fastrand::Rng::with_seed(3);
        for p in 0..300 {
            for _ in 0..rng.usize(1..8) {
                let sku = format!("s{}", rng.usize(..20).min(rng.usize(..20)));
                a.track(
                    &format!("p{p}"),
                    Event::new("buy", now).property("sku", sku),
                )
                .unwrap();
            }
        }
        for support in [0.01, 0.05, 0.2] {
            let dense = a
                .co_occurrence_counted("buy", "sku", support, usize::MAX)
                .unwrap();
            let hashed = a.co_occurrence_counted("buy", "sku", support, 0).unwrap();
            assert!(
                support > 0.1 || !dense.pairs().is_empty(),
                "{} baskets, {} items",
                dense.baskets(),
                dense.items()
            );
            assert_eq!(dense.pairs(), hashed.pairs(), "{support}");
        }
    }
}
