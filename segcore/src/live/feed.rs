//! Where transitions go: returned to the caller of [`Audience::apply`] and
//! [`Audience::advance_to`], or queued for the plain write methods until drained. The queue is
//! bounded: while it is full, writes are refused (nothing applied) rather than transitions lost.

use std::collections::VecDeque;

use super::Transition;
use crate::error::{Error, Result};
use crate::Audience;

/// How many transitions the queue holds before writes are refused, unless set otherwise.
pub const DEFAULT_QUEUE_CAPACITY: usize = 100_000;

#[derive(Debug, Clone)]
pub(crate) struct Feed {
    queue: VecDeque<Transition>,
    capacity: usize,
    /// While `Some`, a write's transitions are collected here for its caller, not queued.
    taken: Option<Vec<Transition>>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            queue: VecDeque::new(),
            capacity: DEFAULT_QUEUE_CAPACITY,
            taken: None,
        }
    }
}

impl Feed {
    /// Refuses a queued write while the queue is full.
    pub(crate) fn check_room(&self) -> Result<()> {
        if self.taken.is_none() && self.queue.len() >= self.capacity {
            return Err(Error::QueueFull {
                capacity: self.capacity,
            });
        }
        Ok(())
    }

    pub(crate) fn push(&mut self, transitions: Vec<Transition>) {
        match &mut self.taken {
            Some(taken) => taken.extend(transitions),
            None => self.queue.extend(transitions),
        }
    }

    pub(crate) fn begin_taking(&mut self) {
        self.taken = Some(Vec::new());
    }

    pub(crate) fn end_taking(&mut self) -> Vec<Transition> {
        self.taken.take().unwrap_or_default()
    }

    pub(crate) fn drain(&mut self) -> Vec<Transition> {
        self.queue.drain(..).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }
}

impl Audience {
    /// How many transitions wait in the queue.
    pub fn queued_transitions(&self) -> usize {
        self.feed.len()
    }
}
