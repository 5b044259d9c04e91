//! The async twins' work, run on libuv's worker threads: arguments are read on the main
//! thread (a `Date` cannot leave it), so every failure — a bad argument or the core's error —
//! rejects the promise with the same `code` as the synchronous call's.

use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use napi::bindgen_prelude::*;
use segcore::Event;

use crate::errors::{argument, at_row, guard_task, Read, Throw};
use crate::live::Subscribers;

/// Writes `events` in order and returns how many; stops at the first the core refuses, whose
/// error then carries the row.
pub(crate) fn track_all(
    audience: &RwLock<segcore::Audience>,
    events: Vec<(String, Event)>,
) -> Read<u32> {
    let n = events.len() as u32;
    // One batch: one fsync for the rows on a durable audience, the rows before a refused
    // one kept and synced too.
    crate::audience::commit_many(audience, |a| {
        for (i, (id, event)) in events.into_iter().enumerate() {
            if let Err(e) = a.track(&id, event) {
                return Ok(Err(at_row(i)(e.into())));
            }
        }
        Ok(Ok(n))
    })?
}

/// `trackManyAsync`'s work: the rows, read on the main thread, written on a worker.
pub struct TrackMany {
    pub(crate) audience: Arc<RwLock<segcore::Audience>>,
    /// Receive the load's transitions when it resolves, on the main thread.
    pub(crate) subscribers: Arc<Subscribers>,
    pub(crate) events: Option<Read<Vec<(String, Event)>>>,
}

impl Task for TrackMany {
    type Output = Read<u32>;
    type JsValue = u32;

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            let events = match self.events.take() {
                Some(Ok(events)) => events,
                Some(Err(failure)) => return Ok(Err(failure)),
                None => return Ok(Err(argument("the load already ran".to_owned()))),
            };
            Ok(track_all(&self.audience, events))
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<u32> {
        crate::live::deliver_queued(&env, &self.audience, &self.subscribers)?;
        output.js(&env)
    }
}

/// A query's answer as JavaScript receives it.
pub trait Answer: Send + 'static {
    /// The JavaScript value.
    type Js: ToNapiValue + TypeName;
    /// Converts the answer.
    fn into_js(self) -> Self::Js;
}

impl Answer for u64 {
    type Js = f64;
    fn into_js(self) -> f64 {
        self as f64
    }
}

impl Answer for Vec<String> {
    type Js = Vec<String>;
    fn into_js(self) -> Vec<String> {
        self
    }
}

impl Answer for Vec<u32> {
    type Js = Uint32Array;
    fn into_js(self) -> Uint32Array {
        Uint32Array::new(self)
    }
}

/// The core call a query runs.
pub(crate) type Run<T> =
    fn(&segcore::Audience, &segcore::Predicate, Timestamp) -> segcore::Result<T>;

/// A query run on a worker thread (the async twins).
pub struct Query<T> {
    pub(crate) audience: Arc<RwLock<segcore::Audience>>,
    /// The segment and `now`, read on the main thread; taken by `compute`.
    pub(crate) question: Option<Read<(String, Timestamp)>>,
    pub(crate) run: Run<T>,
}

impl<T: Answer> Task for Query<T> {
    type Output = Read<T>;
    type JsValue = T::Js;

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            let (segment, now) = match self.question.take() {
                Some(Ok(question)) => question,
                Some(Err(failure)) => return Ok(Err(failure)),
                None => return Ok(Err(argument("the query already ran".to_owned()))),
            };
            let audience = self.audience.read().unwrap_or_else(|e| e.into_inner());
            let answer = audience
                .query(&segment)
                .and_then(|predicate| (self.run)(&audience, &predicate, now));
            Ok(answer.map_err(Into::into))
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        output.map(Answer::into_js).js(&env)
    }
}
