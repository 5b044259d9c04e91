//! The `Audience` class: each method reads its arguments (`args`), calls the core, and
//! converts the answer or the failure.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use jiff::Timestamp;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::args::{boolean, elements, entries, given, instant_or_now, string, value, whole};
use crate::errors::{guard, Read, Throw};
use crate::events::{event, event_rows, plan, PlanStep};
use crate::live::Subscribers;
use crate::tasks::{track_all, Answer, Query, Run, TrackMany};

/// Profiles with typed attributes, tags, events and consent, and named segments over them.
/// Wherever a segment is expected, pass a defined segment's name or a predicate's text.
#[napi]
pub struct Audience {
    /// Shared with the worker threads of the async calls; writes wait for running reads.
    pub(crate) inner: Arc<RwLock<segcore::Audience>>,
    /// Callbacks that receive transitions as writes cause them.
    pub(crate) subscribers: Arc<Subscribers>,
}

impl Audience {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, segcore::Audience> {
        // The core returns errors rather than panicking, and a refused write changes nothing,
        // so a poisoned lock still guards a whole audience.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, segcore::Audience> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A write as one batch; on a durable audience it returns once on disk.
    pub(crate) fn commit<T>(
        &self,
        write: impl FnOnce(&mut segcore::Audience) -> segcore::Result<T>,
    ) -> segcore::Result<T> {
        commit(&self.inner, write)
    }

    /// The predicate a segment argument stands for, and the instant `now` stands for.
    fn question(
        &self,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Read<(segcore::Predicate, Timestamp)> {
        let segment = string(segment, "segment")?;
        let now = instant_or_now(now, "now")?;
        Ok((self.read().query(&segment)?, now))
    }

    /// An async twin's task: arguments are read here, the segment is resolved and run on a
    /// worker thread, so every failure rejects the promise.
    fn query_task<T: Answer>(
        &self,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
        run: Run<T>,
    ) -> AsyncTask<Query<T>> {
        let question = string(segment, "segment")
            .and_then(|segment| Ok((segment, instant_or_now(now, "now")?)));
        AsyncTask::new(Query {
            audience: Arc::clone(&self.inner),
            question: Some(question),
            run,
        })
    }
}

#[napi]
impl Audience {
    /// A new, empty audience whose calendar windows resolve in `timeZone` (default UTC).
    #[napi(constructor, ts_args_type = "timeZone?: string | undefined | null")]
    pub fn new(env: Env, time_zone: Option<Unknown<'_>>) -> Result<Self> {
        let zone = given(time_zone)
            .map(|z| string(z, "timeZone"))
            .transpose()
            .js(&env)?;
        let inner = segcore::Audience::with_time_zone(zone.as_deref().unwrap_or("UTC")).js(&env)?;
        Ok(Audience {
            inner: Arc::new(RwLock::new(inner)),
            subscribers: Arc::default(),
        })
    }

    /// For segcore's own tests: panics inside the binding while holding the audience's write
    /// lock, to show that a bug throws `SEGCORE_INTERNAL` instead of aborting the process.
    /// Refused (`SEGCORE_ARGUMENT`) unless the environment sets `SEGCORE_TEST_PANICS=1`.
    #[napi(js_name = "_panicForTests", ts_args_type = "message: string")]
    pub fn panic_for_tests(&self, env: Env, message: Unknown<'_>) -> Result<()> {
        let run = || -> Read<()> {
            let message = string(message, "message")?;
            if std::env::var("SEGCORE_TEST_PANICS").as_deref() != Ok("1") {
                return Err(crate::errors::argument(
                    "_panicForTests runs only with SEGCORE_TEST_PANICS=1".to_owned(),
                ));
            }
            let _held = self.write();
            panic!("{message}");
        };
        guard(run).js(&env)
    }

    /// Changes the time zone calendar windows resolve in (an IANA name).
    #[napi(ts_args_type = "name: string")]
    pub fn set_time_zone(&self, env: Env, name: Unknown<'_>) -> Result<()> {
        let run = || -> Read<()> {
            let name = string(name, "name")?;
            Ok(self.commit(|a| a.set_time_zone(&name))?)
        };
        guard(run).js(&env)
    }

    /// The generated sample shop (seed 42, a year of events up to 2026-11-01T12:00:00Z, time
    /// zone Europe/Stockholm), the same as the Rust examples and benchmarks build. `minimal`
    /// writes only country, age and tags besides the events. Sizes are bounded (at most
    /// 50,000,000 customers, 1,000 events per customer, 500,000,000 events in all).
    #[napi(
        factory,
        ts_args_type = "customers: number, eventsPerCustomer?: number | undefined | null, minimal?: boolean | undefined | null"
    )]
    pub fn sample_shop(
        env: Env,
        customers: Unknown<'_>,
        events_per_customer: Option<Unknown<'_>>,
        minimal: Option<Unknown<'_>>,
    ) -> Result<Self> {
        let read = || -> Read<segcore::Audience> {
            let customers = whole(customers, "customers", u64::from(u32::MAX))?;
            let mut shop = segcore::sample::SampleShop::new(customers as usize);
            if let Some(v) = given(events_per_customer) {
                shop.events_per_customer =
                    whole(v, "eventsPerCustomer", u64::from(u32::MAX))? as u32;
            }
            if let Some(v) = given(minimal) {
                if boolean(v, "minimal")? {
                    shop.detail = segcore::sample::ProfileDetail::Minimal;
                }
            }
            Ok(shop.try_build()?)
        };
        Ok(Audience {
            inner: Arc::new(RwLock::new(read().js(&env)?)),
            subscribers: Arc::default(),
        })
    }

    /// The number of live profiles.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.read().len() as u32
    }

    /// The IANA time zone.
    #[napi(getter)]
    pub fn time_zone(&self) -> String {
        self.read().time_zone().to_owned()
    }

    /// Whether a profile exists.
    #[napi(ts_args_type = "id: string")]
    pub fn has(&self, env: Env, id: Unknown<'_>) -> Result<bool> {
        let id = string(id, "id").js(&env)?;
        Ok(self.read().slot(&id).is_some())
    }

    /// Declares an attribute's type (`string`, `number`, `bool`, `timestamp` or `list`), so
    /// segments can use it before the first value arrives.
    #[napi(ts_args_type = "name: string, typeName: string")]
    pub fn declare_attribute(
        &self,
        env: Env,
        name: Unknown<'_>,
        type_name: Unknown<'_>,
    ) -> Result<()> {
        let run = || -> Read<()> {
            let name = string(name, "name")?;
            let ty = segcore::AttrType::from_name(&string(type_name, "typeName")?)?;
            Ok(self.commit(|a| a.declare_attribute(&name, ty))?)
        };
        guard(run).js(&env)
    }

    /// Declares an event name.
    #[napi(ts_args_type = "name: string")]
    pub fn declare_event(&self, env: Env, name: Unknown<'_>) -> Result<()> {
        let name = string(name, "name").js(&env)?;
        self.commit(|a| a.declare_event(&name)).js(&env)
    }

    /// Declares an event property's type (`string` or `number`).
    #[napi(ts_args_type = "event: string, key: string, typeName: string")]
    pub fn declare_event_property(
        &self,
        env: Env,
        event: Unknown<'_>,
        key: Unknown<'_>,
        type_name: Unknown<'_>,
    ) -> Result<()> {
        let run = || -> Read<()> {
            let event = string(event, "event")?;
            let key = string(key, "key")?;
            let ty = segcore::AttrType::from_name(&string(type_name, "typeName")?)?;
            Ok(self.commit(|a| a.declare_event_property(&event, &key, ty))?)
        };
        guard(run).js(&env)
    }

    /// Declares a tag namespace (the `interest` of `interest:outdoor`).
    #[napi(ts_args_type = "namespace: string")]
    pub fn declare_tag_namespace(&self, env: Env, namespace: Unknown<'_>) -> Result<()> {
        let namespace = string(namespace, "namespace").js(&env)?;
        self.commit(|a| a.declare_tag_namespace(&namespace))
            .js(&env)
    }

    /// Declares a consent channel beyond `email`, `sms` and `push`.
    #[napi(ts_args_type = "channel: string")]
    pub fn declare_channel(&self, env: Env, channel: Unknown<'_>) -> Result<()> {
        let channel = string(channel, "channel").js(&env)?;
        self.commit(|a| a.declare_channel(&channel)).js(&env)
    }

    /// Creates the profile if new and sets the attributes, and adds `tags` at `at` (default
    /// now), all or nothing: the attributes and every tag are checked first. A value of
    /// `undefined` or `null` is refused rather than dropped: leave the key out instead.
    #[napi(
        ts_args_type = "id: string, attributes: Record<string, string | boolean | number | Array<string> | Date>, tags?: Array<string> | undefined | null, at?: Date | string | number | undefined | null"
    )]
    pub fn upsert(
        &self,
        env: Env,
        id: Unknown<'_>,
        attributes: Unknown<'_>,
        tags: Option<Unknown<'_>>,
        at: Option<Unknown<'_>>,
    ) -> Result<()> {
        let run = || -> Read<()> {
            let id = string(id, "id")?;
            let values = entries(attributes, "attributes")?
                .into_iter()
                .map(|(k, v)| {
                    let x = value(v, &format!("attributes.{k}"))?;
                    Ok((k, x))
                })
                .collect::<Read<Vec<_>>>()?;
            let tags = match given(tags) {
                Some(tags) => elements(tags, "tags")?
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| string(t, &format!("tags[{i}]")))
                    .collect::<Read<Vec<_>>>()?,
                None => Vec::new(),
            };
            let at = instant_or_now(at, "at")?;
            self.commit(|a| a.upsert_tagged(&id, values, &tags, at))?;
            Ok(())
        };
        let done = guard(run).js(&env);
        self.written(&env, done)
    }

    /// Adds a tag (creating the profile if new); `at` defaults to now.
    #[napi(
        ts_args_type = "id: string, tag: string, at?: Date | string | number | undefined | null"
    )]
    pub fn tag(
        &self,
        env: Env,
        id: Unknown<'_>,
        tag: Unknown<'_>,
        at: Option<Unknown<'_>>,
    ) -> Result<()> {
        let run = || -> Read<()> {
            let id = string(id, "id")?;
            let tag = string(tag, "tag")?;
            let at = instant_or_now(at, "at")?;
            Ok(self.commit(|a| a.tag(&id, &tag, at))?)
        };
        let done = guard(run).js(&env);
        self.written(&env, done)
    }

    /// Removes a tag; returns whether the profile held it.
    #[napi(ts_args_type = "id: string, tag: string")]
    pub fn untag(&self, env: Env, id: Unknown<'_>, tag: Unknown<'_>) -> Result<bool> {
        let run = || -> Read<bool> {
            let id = string(id, "id")?;
            let tag = string(tag, "tag")?;
            Ok(self.commit(|a| a.untag(&id, &tag))?)
        };
        let done = guard(run).js(&env);
        self.written(&env, done)
    }

    /// Records an event (creating the profile if new): numeric `values` such as an amount,
    /// and string or number `properties`. `at` defaults to now.
    #[napi(
        ts_args_type = "id: string, name: string, at?: Date | string | number | undefined | null, values?: Record<string, number> | undefined | null, properties?: Record<string, string | number> | undefined | null"
    )]
    pub fn track(
        &self,
        env: Env,
        id: Unknown<'_>,
        name: Unknown<'_>,
        at: Option<Unknown<'_>>,
        values: Option<Unknown<'_>>,
        properties: Option<Unknown<'_>>,
    ) -> Result<()> {
        let run = || -> Read<()> {
            let id = string(id, "id")?;
            let name = string(name, "name")?;
            let at = instant_or_now(at, "at")?;
            let event = event(name, at, values, properties)?;
            Ok(self.commit(|a| a.track(&id, event))?)
        };
        let done = guard(run).js(&env);
        self.written(&env, done)
    }

    /// Records many events in order (a bulk load); returns how many. Every row is read
    /// first: a malformed row writes nothing. A row the core refuses stops the load; the
    /// rows before it stay recorded. Either way the error's `row` is the row's index.
    #[napi(ts_args_type = "events: Array<EventRow>")]
    pub fn track_many(&self, env: Env, events: Unknown<'_>) -> Result<u32> {
        let events = event_rows(events).js(&env)?;
        let done = track_all(&self.inner, events).js(&env);
        self.written(&env, done)
    }

    /// `trackMany` off the main thread.
    #[napi(
        ts_args_type = "events: Array<EventRow>",
        ts_return_type = "Promise<number>"
    )]
    pub fn track_many_async(&self, events: Unknown<'_>) -> AsyncTask<TrackMany> {
        AsyncTask::new(TrackMany {
            audience: Arc::clone(&self.inner),
            subscribers: Arc::clone(&self.subscribers),
            events: Some(event_rows(events)),
        })
    }

    /// Records a consent decision (creating the profile if new); `at` defaults to now.
    #[napi(
        ts_args_type = "id: string, channel: string, granted: boolean, at?: Date | string | number | undefined | null"
    )]
    pub fn set_consent(
        &self,
        env: Env,
        id: Unknown<'_>,
        channel: Unknown<'_>,
        granted: Unknown<'_>,
        at: Option<Unknown<'_>>,
    ) -> Result<()> {
        let run = || -> Read<()> {
            let id = string(id, "id")?;
            let channel = string(channel, "channel")?;
            let granted = boolean(granted, "granted")?;
            let at = instant_or_now(at, "at")?;
            Ok(self.commit(|a| a.set_consent(&id, &channel, granted, at))?)
        };
        let done = guard(run).js(&env);
        self.written(&env, done)
    }

    /// Erases a profile; returns whether it existed.
    #[napi(ts_args_type = "id: string")]
    pub fn erase(&self, env: Env, id: Unknown<'_>) -> Result<bool> {
        let id = string(id, "id").js(&env)?;
        let erased = self.commit(|a| a.erase(&id));
        self.written(&env, erased.js(&env))
    }

    /// Defines (or replaces) a named segment from a predicate's text.
    #[napi(ts_args_type = "name: string, predicate: string")]
    pub fn define(&self, env: Env, name: Unknown<'_>, predicate: Unknown<'_>) -> Result<()> {
        let run = || -> Read<()> {
            let name = string(name, "name")?;
            let text = string(predicate, "predicate")?;
            let p = self.read().predicate(&text)?;
            Ok(self.commit(|a| a.define_segment(&name, p))?)
        };
        guard(run).js(&env)
    }

    /// Removes a named segment (refused while others refer to it); returns its text.
    #[napi(ts_args_type = "name: string")]
    pub fn remove(&self, env: Env, name: Unknown<'_>) -> Result<String> {
        let name = string(name, "name").js(&env)?;
        self.commit(|a| a.remove_segment(&name))
            .map(|p| p.to_string())
            .js(&env)
    }

    /// The named segments and their definitions' text, in name order (as JavaScript keeps
    /// an object's keys: integer-like names, should there be any, come first).
    #[napi(ts_return_type = "Record<string, string>")]
    pub fn segments(&self, env: Env) -> Result<Object<'_>> {
        let mut out = Object::new(&env)?;
        for (name, p) in self.read().catalog().iter() {
            out.set(name, p.to_string())?;
        }
        Ok(out)
    }

    /// How many profiles are in the segment at `now` (default: the current time).
    #[napi(ts_args_type = "segment: string, now?: Date | string | number | undefined | null")]
    pub fn count(&self, env: Env, segment: Unknown<'_>, now: Option<Unknown<'_>>) -> Result<f64> {
        let run = || -> Read<f64> {
            let (p, now) = self.question(segment, now)?;
            Ok(self.read().count(&p, now)? as f64)
        };
        guard(run).js(&env)
    }

    /// `count` off the main thread.
    #[napi(
        ts_args_type = "segment: string, now?: Date | string | number | undefined | null",
        ts_return_type = "Promise<number>"
    )]
    pub fn count_async(
        &self,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> AsyncTask<Query<u64>> {
        self.query_task(segment, now, segcore::Audience::count)
    }

    /// The ids of the segment's members, in the order profiles were first seen.
    #[napi(ts_args_type = "segment: string, now?: Date | string | number | undefined | null")]
    pub fn members(
        &self,
        env: Env,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<Vec<String>> {
        let run = || -> Read<Vec<String>> {
            let (p, now) = self.question(segment, now)?;
            Ok(self.read().members(&p, now)?)
        };
        guard(run).js(&env)
    }

    /// `members` off the main thread.
    #[napi(
        ts_args_type = "segment: string, now?: Date | string | number | undefined | null",
        ts_return_type = "Promise<Array<string>>"
    )]
    pub fn members_async(
        &self,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> AsyncTask<Query<Vec<String>>> {
        self.query_task(segment, now, segcore::Audience::members)
    }

    /// The members' slots.
    #[napi(ts_args_type = "segment: string, now?: Date | string | number | undefined | null")]
    pub fn member_slots(
        &self,
        env: Env,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<Uint32Array> {
        let run = || -> Read<Vec<u32>> {
            let (p, now) = self.question(segment, now)?;
            Ok(self.read().member_slots(&p, now)?)
        };
        Ok(Uint32Array::new(guard(run).js(&env)?))
    }

    /// `memberSlots` off the main thread.
    #[napi(
        ts_args_type = "segment: string, now?: Date | string | number | undefined | null",
        ts_return_type = "Promise<Uint32Array>"
    )]
    pub fn member_slots_async(
        &self,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> AsyncTask<Query<Vec<u32>>> {
        self.query_task(segment, now, segcore::Audience::member_slots)
    }

    /// Whether one profile is in the segment.
    #[napi(
        ts_args_type = "id: string, segment: string, now?: Date | string | number | undefined | null"
    )]
    pub fn matches(
        &self,
        env: Env,
        id: Unknown<'_>,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<bool> {
        let run = || -> Read<bool> {
            let id = string(id, "id")?;
            let (p, now) = self.question(segment, now)?;
            Ok(self.read().matches(&id, &p, now)?)
        };
        guard(run).js(&env)
    }

    /// The named segments one profile is in, sorted.
    #[napi(ts_args_type = "id: string, now?: Date | string | number | undefined | null")]
    pub fn segments_of(
        &self,
        env: Env,
        id: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<Vec<String>> {
        let run = || -> Read<Vec<String>> {
            let id = string(id, "id")?;
            let now = instant_or_now(now, "now")?;
            Ok(self.read().segments_of(&id, now)?)
        };
        guard(run).js(&env)
    }

    /// Runs the query and returns its plan.
    #[napi(ts_args_type = "segment: string, now?: Date | string | number | undefined | null")]
    pub fn explain(
        &self,
        env: Env,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<PlanStep> {
        let run = || -> Read<PlanStep> {
            let (p, now) = self.question(segment, now)?;
            Ok(plan(&self.read().explain(&p, now)?.root))
        };
        guard(run).js(&env)
    }
}

/// Runs one call's single write and, on a durable audience, waits for it to be on disk after
/// releasing the lock, so writes from async calls on worker threads share fsyncs. The record
/// reaches the journal file before it is applied (`deferred`): a write the disk refuses is
/// not applied.
pub(crate) fn commit<T>(
    lock: &RwLock<segcore::Audience>,
    write: impl FnOnce(&mut segcore::Audience) -> segcore::Result<T>,
) -> segcore::Result<T> {
    committed(lock, false, write)
}

/// [`commit`] for a call of several writes that must survive a crash together (an ingested
/// message, the RFM segments) or of many rows (bulk loads): one batch, buffered and written
/// when it ends.
pub(crate) fn commit_many<T>(
    lock: &RwLock<segcore::Audience>,
    write: impl FnOnce(&mut segcore::Audience) -> segcore::Result<T>,
) -> segcore::Result<T> {
    committed(lock, true, write)
}

fn committed<T>(
    lock: &RwLock<segcore::Audience>,
    many: bool,
    write: impl FnOnce(&mut segcore::Audience) -> segcore::Result<T>,
) -> segcore::Result<T> {
    let mut audience = lock.write().unwrap_or_else(|e| e.into_inner());
    let (value, commit) = if many {
        audience.batch(write)?
    } else {
        audience.deferred(write)?
    };
    // Waited for after releasing the audience, so writers on other threads share the fsync.
    drop(audience);
    commit.wait()?;
    Ok(value)
}
