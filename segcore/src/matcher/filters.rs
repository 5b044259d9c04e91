//! `where` filters on day-bucket rows: each row's properties, read from the bucket's columns,
//! go through the reference's own property test — once per distinct string value, once per
//! row for numbers — so counts, aggregates and `did ... where` need not visit any profile.

use crate::index::DayBucket;
use crate::language::{Filter, Test};
use crate::reference::Reference;
use crate::store::{PropValue, Store};

/// One filter: the property's key id (`None`: no event ever had it), its test, and the test's
/// verdict per interned string value, filled in as values are met (0 not yet, 1 fails, 2
/// passes).
struct Part<'p> {
    key: Option<u32>,
    test: &'p Test,
    strings: Vec<u8>,
}

/// The filters of one condition, ready to test rows.
pub(super) struct RowFilter<'p> {
    parts: Vec<Part<'p>>,
}

impl<'p> RowFilter<'p> {
    pub(super) fn new(store: &Store, filter: &'p [Filter]) -> RowFilter<'p> {
        let parts = filter
            .iter()
            .map(|f| Part {
                key: store.keys.get(&f.key),
                test: &f.test,
                strings: Vec::new(),
            })
            .collect();
        RowFilter { parts }
    }

    /// Which rows of `bucket` pass every filter; `None` when there are no filters (all do).
    pub(super) fn passing(
        &mut self,
        reference: &Reference<'_>,
        bucket: &DayBucket,
    ) -> Option<Vec<bool>> {
        if self.parts.is_empty() {
            return None;
        }
        let mut pass = vec![true; bucket.slots.len()];
        for part in &mut self.parts {
            let numbers = part.key.and_then(|k| bucket.numbers(k));
            let strings = part.key.and_then(|k| bucket.strings(k));
            let missing = reference.property_passes(part.test, None);
            for (row, ok) in pass.iter_mut().enumerate() {
                if !*ok {
                    continue;
                }
                let number = numbers.map(|c| c[row]).filter(|x| !x.is_nan());
                let string = strings
                    .map(|c| c[row])
                    .filter(|&id| id != crate::index::NO_STRING);
                *ok = match (number, string) {
                    (Some(x), _) => {
                        reference.property_passes(part.test, Some(PropValue::Number(x)))
                    }
                    (None, Some(id)) => {
                        let i = id as usize;
                        if part.strings.len() <= i {
                            part.strings.resize(i + 1, 0);
                        }
                        if part.strings[i] == 0 {
                            let passes =
                                reference.property_passes(part.test, Some(PropValue::String(id)));
                            part.strings[i] = 1 + u8::from(passes);
                        }
                        part.strings[i] == 2
                    }
                    (None, None) => missing,
                };
            }
        }
        Some(pass)
    }
}
