//! The numbers event leaves test, shared: `sum(purchase.amount in last 30d) > 100` and `> 200`
//! (or `did purchase at least 2 times in last 30d` and `… 3 times …`) differ only in their test,
//! so the events are scanned once per profile for all of them and each leaf applies its own
//! test to the shared value, exactly as the reference applies it.

use std::collections::HashMap;

use crate::language::{AggFunc, CountTest, Filter, Predicate, Test, Window};
use crate::reference::{count_passes, Reference};

/// What an event leaf counts or aggregates, apart from its test.
#[derive(Debug, Clone)]
enum Source {
    Count {
        event: String,
        window: Option<Window>,
        filter: Vec<Filter>,
    },
    Aggregate {
        func: AggFunc,
        event: String,
        value: String,
        window: Option<Window>,
        filter: Vec<Filter>,
    },
}

/// The test a leaf applies to its source's value.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    Count(Option<CountTest>),
    Number(Test),
}

/// The distinct sources of a catalog's event leaves.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    sources: Vec<Source>,
    ids: HashMap<String, u32>,
}

impl Sources {
    /// A `did` or aggregate leaf as its shared source and its own test; `None` for other leaves.
    pub(crate) fn split(&mut self, leaf: &Predicate) -> Option<(u32, Check)> {
        let (source, check, key) = match leaf {
            Predicate::Event {
                event,
                count,
                window,
                filter,
            } => {
                let key = Predicate::Event {
                    event: event.clone(),
                    count: None,
                    window: *window,
                    filter: filter.clone(),
                };
                let source = Source::Count {
                    event: event.clone(),
                    window: *window,
                    filter: filter.clone(),
                };
                (source, Check::Count(*count), key)
            }
            Predicate::Aggregate {
                func,
                event,
                value,
                window,
                filter,
                test,
            } => {
                let key = Predicate::Aggregate {
                    func: *func,
                    event: event.clone(),
                    value: value.clone(),
                    window: *window,
                    filter: filter.clone(),
                    test: Test::Exists,
                };
                let source = Source::Aggregate {
                    func: *func,
                    event: event.clone(),
                    value: value.clone(),
                    window: *window,
                    filter: filter.clone(),
                };
                (source, Check::Number(test.clone()), key)
            }
            _ => return None,
        };
        let next = self.sources.len() as u32;
        let id = *self.ids.entry(key.to_string()).or_insert(next);
        if id == next {
            self.sources.push(source);
        }
        Some((id, check))
    }

    pub(crate) fn len(&self) -> usize {
        self.sources.len()
    }

    /// The value of source `id` for the profile in `slot`: an event count, or an aggregate
    /// (`None` where it is undefined).
    pub(crate) fn value(&self, id: u32, slot: u32, reference: &Reference<'_>) -> Option<f64> {
        let record = reference.record(slot)?;
        match &self.sources[id as usize] {
            Source::Count {
                event,
                window,
                filter,
            } => Some(
                reference
                    .events(record, event, window.as_ref(), filter)
                    .count() as f64,
            ),
            Source::Aggregate {
                func,
                event,
                value,
                window,
                filter,
            } => reference.aggregate(record, *func, event, value, window.as_ref(), filter),
        }
    }
}

impl Check {
    /// Whether the leaf holds for its source's value, as the reference decides.
    pub(crate) fn passes(&self, value: Option<f64>, reference: &Reference<'_>) -> bool {
        match self {
            // A count is always defined for a live profile.
            Check::Count(count) => value.is_some_and(|n| count_passes(*count, n as usize)),
            Check::Number(test) => reference.number_test(test, value),
        }
    }
}
