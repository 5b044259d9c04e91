//! Live membership on the `Audience` class: the clock, transitions (returned, drained, or
//! delivered to subscribers' callbacks), live members. Reading arguments and converting
//! answers only; the core decides.

use std::sync::{Arc, Mutex, RwLock};

use jiff::Timestamp;
use napi::bindgen_prelude::*;
use napi::JsDate;
use napi_derive::napi;

use crate::args::{instant, instant_or_now, string, whole};
use crate::audience::Audience;
use crate::errors::{argument, guard, guard_task, Read, Throw};

/// A profile entering or leaving a segment, and when it happened.
#[napi(object)]
pub struct Transition {
    /// The profile's id.
    pub profile: String,
    /// The profile's slot.
    pub slot: u32,
    /// The segment's name.
    pub segment: String,
    /// `"entered"` or `"left"`.
    #[napi(ts_type = "'entered' | 'left'")]
    pub direction: String,
    /// When it happened, as RFC 3339 text to the nanosecond.
    pub at: String,
    /// When it happened, in epoch milliseconds rounded up (the first millisecond by which it
    /// had happened): `new Date(t.atMs)`.
    pub at_ms: f64,
}

fn transitions(moved: Vec<segcore::Transition>) -> Vec<Transition> {
    moved
        .into_iter()
        .map(|t| Transition {
            at_ms: ceil_ms(t.at),
            profile: t.profile,
            slot: t.slot,
            segment: t.segment,
            direction: t.direction.name().to_owned(),
            at: t.at.to_string(),
        })
        .collect()
}

/// Epoch milliseconds rounded up: an instant something happens at, so that advancing to it
/// (or sleeping until it) takes it in.
fn ceil_ms(t: Timestamp) -> f64 {
    let ns = t.as_nanosecond();
    ns.div_euclid(1_000_000) as f64 + f64::from(u8::from(ns.rem_euclid(1_000_000) != 0))
}

type Callback = FunctionRef<Vec<Transition>, ()>;

/// The callbacks `subscribe` registered, each with its id.
///
/// A callback may write to the audience, subscribe or unsubscribe: no lock is held while it
/// runs (the list is copied first). The transitions its own writes cause are not delivered
/// inside it (that would nest without bound) but queued, and delivered to every subscriber
/// once the current delivery ends, in order.
#[derive(Default)]
pub(crate) struct Subscribers {
    list: Mutex<Vec<(u32, Arc<Callback>)>>,
    next: Mutex<u32>,
    /// Transitions caused while a delivery runs, waiting for it to end.
    pending: Mutex<Option<Vec<segcore::Transition>>>,
}

impl Subscribers {
    pub(crate) fn any(&self) -> bool {
        !self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u32, Arc<Callback>)>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Option<Vec<segcore::Transition>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls every subscriber with `moved` (when there are any); every subscriber is called
    /// even if one throws, and the first exception is rethrown. Called from inside a
    /// callback (a subscriber that writes), it queues `moved` for the delivery running.
    pub(crate) fn deliver(&self, env: &Env, moved: Vec<segcore::Transition>) -> Result<()> {
        if moved.is_empty() {
            return Ok(());
        }
        {
            let mut pending = self.pending();
            if let Some(queued) = pending.as_mut() {
                queued.extend(moved);
                return Ok(());
            }
            *pending = Some(Vec::new());
        }
        let mut first = Ok(());
        let mut batch = moved;
        loop {
            // Copied, so that a callback may subscribe or unsubscribe while the list runs.
            let callbacks: Vec<Arc<Callback>> =
                self.lock().iter().map(|(_, c)| Arc::clone(c)).collect();
            for callback in &callbacks {
                let called = callback
                    .borrow_back(env)
                    .and_then(|f| f.call(transitions(batch.clone())));
                if first.is_ok() {
                    first = called;
                }
            }
            let mut pending = self.pending();
            match pending.as_mut().map(std::mem::take) {
                Some(next) if !next.is_empty() => batch = next,
                _ => {
                    *pending = None;
                    break;
                }
            }
        }
        first
    }
}

/// `advanceToAsync`'s work.
pub struct Advance {
    audience: Arc<RwLock<segcore::Audience>>,
    subscribers: Arc<Subscribers>,
    to: Option<Read<Timestamp>>,
}

impl Task for Advance {
    type Output = Read<Vec<segcore::Transition>>;
    type JsValue = Vec<Transition>;

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            let to = match self.to.take() {
                Some(Ok(to)) => to,
                Some(Err(failure)) => return Ok(Err(failure)),
                None => return Ok(Err(argument("the advance already ran".to_owned()))),
            };
            let mut audience = self.audience.write().unwrap_or_else(|e| e.into_inner());
            Ok(audience.advance_to(to).map_err(Into::into))
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Vec<Transition>> {
        let moved = output.js(&env)?;
        self.subscribers.deliver(&env, moved.clone())?;
        Ok(transitions(moved))
    }
}

impl Audience {
    /// After a write: with subscribers, the queued transitions go to them (a bulk load that
    /// failed part way has written, and queued, the rows before the failure).
    pub(crate) fn written<T>(&self, env: &Env, done: Result<T>) -> Result<T> {
        deliver_queued(env, &self.inner, &self.subscribers)?;
        done
    }
}

/// Hands the queued transitions to the subscribers, if there are any (after a write, or when
/// an async load resolves: rows written before a refused one count too).
pub(crate) fn deliver_queued(
    env: &Env,
    audience: &std::sync::RwLock<segcore::Audience>,
    subscribers: &Subscribers,
) -> Result<()> {
    if subscribers.any() {
        let moved = audience
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .drain_transitions();
        subscribers.deliver(env, moved)?;
    }
    Ok(())
}

fn date(env: &Env, t: Timestamp) -> Result<JsDate<'_>> {
    env.create_date(ceil_ms(t))
}

#[napi]
impl Audience {
    /// Turns live membership on with the clock at `now` (default: the current time): every
    /// segment's members then are the baseline, and each write and `advanceTo` reports who
    /// enters and leaves.
    #[napi(ts_args_type = "now?: Date | string | number | undefined | null")]
    pub fn start_live(&self, env: Env, now: Option<Unknown<'_>>) -> Result<()> {
        let now = instant_or_now(now, "now").js(&env)?;
        self.write().start_live(now).js(&env)
    }

    /// Turns live membership off (queued transitions stay until drained).
    #[napi]
    pub fn stop_live(&self) {
        self.write().stop_live();
    }

    /// The audience clock while live membership is on (rounded up to the millisecond).
    #[napi(getter, ts_return_type = "Date | null")]
    pub fn clock<'env>(&self, env: &'env Env) -> Result<Option<JsDate<'env>>> {
        let clock = self.read().clock();
        clock.map(|t| date(env, t)).transpose()
    }

    /// Moves the clock forward to `to` and returns the transitions time made happen on the
    /// way, each stamped with its own instant, in time order; subscribers receive them too.
    #[napi(ts_args_type = "to: Date | string | number")]
    pub fn advance_to(&self, env: Env, to: Unknown<'_>) -> Result<Vec<Transition>> {
        let to = instant(to, "to").js(&env)?;
        let moved = self.write().advance_to(to).js(&env)?;
        self.subscribers.deliver(&env, moved.clone())?;
        Ok(transitions(moved))
    }

    /// `advanceTo` off the main thread: the clock moves on a worker (a month boundary can move
    /// many profiles); subscribers receive the transitions when the promise resolves.
    #[napi(
        ts_args_type = "to: Date | string | number",
        ts_return_type = "Promise<Transition[]>"
    )]
    pub fn advance_to_async(&self, to: Unknown<'_>) -> AsyncTask<Advance> {
        AsyncTask::new(Advance {
            audience: Arc::clone(&self.inner),
            subscribers: Arc::clone(&self.subscribers),
            to: Some(instant(to, "to")),
        })
    }

    /// When time alone next changes some membership (rounded up to the millisecond, so that
    /// `advanceTo` it takes the change in), or null. Advancing there gives at least one
    /// transition: instants where a condition turns without changing any segment are passed
    /// over.
    #[napi(ts_return_type = "Date | null")]
    pub fn next_change_at<'env>(&self, env: &'env Env) -> Result<Option<JsDate<'env>>> {
        let next = self.write().next_change_at();
        next.map(|t| date(env, t)).transpose()
    }

    /// Takes the transitions the write methods queued (when nobody is subscribed), oldest
    /// first.
    #[napi]
    pub fn drain_transitions(&self) -> Vec<Transition> {
        transitions(self.write().drain_transitions())
    }

    /// How many transitions wait in the queue.
    #[napi(getter)]
    pub fn queued_transitions(&self) -> u32 {
        self.read().queued_transitions() as u32
    }

    /// How many transitions the queue holds before writes throw `SEGCORE_QUEUE_FULL`.
    #[napi(ts_args_type = "capacity: number")]
    pub fn set_queue_capacity(&self, env: Env, capacity: Unknown<'_>) -> Result<()> {
        let capacity = whole(capacity, "capacity", u64::from(u32::MAX)).js(&env)?;
        self.write().set_queue_capacity(capacity as usize).js(&env)
    }

    /// A segment's members at the clock, as live membership keeps them.
    #[napi(ts_args_type = "segment: string")]
    pub fn live_members(&self, env: Env, segment: Unknown<'_>) -> Result<Vec<String>> {
        let run = || -> Read<Vec<String>> {
            let segment = string(segment, "segment")?;
            Ok(self.read().live_members(&segment)?)
        };
        guard(run).js(&env)
    }

    /// A segment's members' slots at the clock.
    #[napi(ts_args_type = "segment: string")]
    pub fn live_member_slots(&self, env: Env, segment: Unknown<'_>) -> Result<Uint32Array> {
        let run = || -> Read<Vec<u32>> {
            let segment = string(segment, "segment")?;
            Ok(self.read().live_member_slots(&segment)?)
        };
        Ok(Uint32Array::new(guard(run).js(&env)?))
    }

    /// Calls `callback` with the transitions of every later write and `advanceTo` (on the main
    /// thread, right after the call that caused them); returns an id for `unsubscribe`. While
    /// anyone is subscribed the queue is emptied into the callbacks.
    #[napi(ts_args_type = "callback: (transitions: Transition[]) => void")]
    pub fn subscribe(&self, env: Env, callback: Unknown<'_>) -> Result<u32> {
        let read = || -> Read<Callback> {
            if callback.get_type().ok() != Some(ValueType::Function) {
                return Err(argument("callback must be a function".to_owned()));
            }
            let f: Function<'_, Vec<Transition>, ()> =
                Function::from_unknown(callback).map_err(crate::errors::napi_failure)?;
            f.create_ref().map_err(crate::errors::napi_failure)
        };
        let callback = read().js(&env)?;
        let mut next = self
            .subscribers
            .next
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *next += 1;
        self.subscribers.lock().push((*next, Arc::new(callback)));
        Ok(*next)
    }

    /// Stops calling a subscriber; returns whether the id was subscribed.
    #[napi(ts_args_type = "id: number")]
    pub fn unsubscribe(&self, env: Env, id: Unknown<'_>) -> Result<bool> {
        let id = whole(id, "id", u64::from(u32::MAX)).js(&env)? as u32;
        let mut list = self.subscribers.lock();
        let before = list.len();
        list.retain(|(i, _)| *i != id);
        Ok(list.len() != before)
    }
}
