//! Set algebra: index sets kept uncomputed until they meet their input (unions, range
//! differences, intersections of unions). Plain words over every slot are `dense::Words`.

use crate::index::Bitmap;

/// The members of a condition the indexes answer exactly: a computed set, or a union of index
/// sets left uncomputed until it meets its input. Intersecting a small input with each part is
/// much cheaper than building a large union (an in-list of big values, a wide numeric range)
/// only to cut it down, and a single part is used in place, never copied.
pub(super) enum IndexSet<'a> {
    Owned(Bitmap),
    Union(Vec<&'a Bitmap>),
    /// The first set without the second, where the second is a subset of the first (as with
    /// range-encoded sets): intersected with the input before subtracting.
    Difference(&'a Bitmap, Option<&'a Bitmap>),
    /// The intersection of unions (`tag all [...]`, with wildcards), taken from the input down.
    Intersection(Vec<Vec<&'a Bitmap>>),
}

pub(super) fn lazy<'b>(sets: impl IntoIterator<Item = &'b Bitmap>) -> IndexSet<'b> {
    IndexSet::Union(sets.into_iter().collect())
}

impl IndexSet<'_> {
    /// The set's size, or for a union the sum of its parts' sizes (an upper bound).
    pub(super) fn estimate(&self) -> u64 {
        match self {
            IndexSet::Owned(set) => set.cardinality(),
            IndexSet::Union(parts) => parts.iter().map(|p| p.cardinality()).sum(),
            IndexSet::Difference(all, minus) => {
                all.cardinality() - minus.map_or(0, |m| m.cardinality())
            }
            IndexSet::Intersection(unions) => unions
                .iter()
                .map(|parts| parts.iter().map(|p| p.cardinality()).sum())
                .min()
                .unwrap_or(u64::MAX),
        }
    }

    pub(super) fn and(&self, input: &Bitmap) -> Bitmap {
        match self {
            IndexSet::Owned(set) => input.and(set),
            IndexSet::Union(parts) => match parts.as_slice() {
                [] => Bitmap::new(),
                [one] => input.and(one),
                // Part by part only when the input is tiny beside the union: each part costs a
                // pass over the input's containers, while building the union is one pass
                // over the parts.
                many if input.cardinality().saturating_mul(8 * many.len() as u64)
                    < self.estimate() =>
                {
                    let mut out = Bitmap::new();
                    for part in many {
                        out.or_inplace(&input.and(part));
                    }
                    out
                }
                many => input.and(&Bitmap::fast_or(many)),
            },
            IndexSet::Difference(all, minus) => {
                let mut out = input.and(all);
                if let Some(minus) = minus {
                    out.andnot_inplace(minus);
                }
                out
            }
            IndexSet::Intersection(unions) => {
                let mut out = input.clone();
                for parts in unions {
                    if out.is_empty() {
                        break;
                    }
                    out = IndexSet::Union(parts.clone()).and(&out);
                }
                out
            }
        }
    }

    /// The whole set, built; an intersection is taken within `universe`.
    pub(super) fn to_bitmap(&self, universe: &Bitmap) -> Bitmap {
        match self {
            IndexSet::Owned(set) => set.clone(),
            IndexSet::Union(parts) => Bitmap::fast_or(parts),
            IndexSet::Difference(all, minus) => minus.map_or((*all).clone(), |m| all.andnot(m)),
            IndexSet::Intersection(_) => self.and(universe),
        }
    }

    /// `|input ∩ self|` without building the intersection where the set allows it.
    pub(super) fn and_cardinality(&self, input: &Bitmap) -> u64 {
        match self {
            IndexSet::Owned(set) => input.and_cardinality(set),
            IndexSet::Union(parts) if parts.len() == 1 => input.and_cardinality(parts[0]),
            IndexSet::Difference(all, minus) => {
                input.and_cardinality(all) - minus.map_or(0, |m| input.and_cardinality(m))
            }
            union => union.and(input).cardinality(),
        }
    }
}

/// `base` without the members of `set` (if any).
pub(super) fn minus(base: &Bitmap, set: Option<&Bitmap>) -> Bitmap {
    match set {
        Some(set) => base.andnot(set),
        None => base.clone(),
    }
}
