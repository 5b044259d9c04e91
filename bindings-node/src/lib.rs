//! `segcore` for Node: the native addon. It converts arguments, calls the Rust core, and
//! converts results and errors — nothing else.
//!
//! Errors are JavaScript `Error`s whose `code` is `SEGCORE_` and the core's stable kind in
//! capitals (`SEGCORE_PARSE`, `SEGCORE_UNKNOWN_NAME`, ...); `SEGCORE_ARGUMENT` marks an
//! argument of the wrong shape.
#![deny(missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use jiff::Timestamp;
use napi::bindgen_prelude::*;
use napi::JsDate;
use napi_derive::napi;
use segcore::{Event, Value};

/// The crate's version, the same as the npm package's.
#[napi]
pub fn version() -> String {
    segcore::VERSION.to_owned()
}

/// A failure on its way to JavaScript: the core's error, or an argument the binding could
/// not read.
pub enum Failure {
    /// The core refused.
    Core(segcore::Error),
    /// An argument of the wrong shape (an unparseable time, say).
    Argument(String),
    /// The core refused row `.0` of a bulk write; the rows before it were written.
    AtRow(usize, segcore::Error),
}

fn argument(message: String) -> Failure {
    Failure::Argument(message)
}

fn napi_error(e: Error) -> Failure {
    Failure::Argument(e.reason.clone())
}

/// The JavaScript `Error` for a failure: `code` is `SEGCORE_` and the core's stable kind in
/// capitals (or `SEGCORE_ARGUMENT`); a parse error also has `line` and `column`.
fn thrown(env: &Env, failure: Failure) -> Error {
    let (code, message, position) = match &failure {
        Failure::Core(e) => {
            let position = match e {
                segcore::Error::Parse(p) => Some((p.line as u32, p.column as u32)),
                segcore::Error::Json { line, column, .. } => Some((*line as u32, *column as u32)),
                _ => None,
            };
            (
                format!("SEGCORE_{}", e.kind().to_uppercase()),
                e.to_string(),
                position,
            )
        }
        Failure::Argument(m) => ("SEGCORE_ARGUMENT".to_owned(), m.clone(), None),
        Failure::AtRow(row, e) => (
            format!("SEGCORE_{}", e.kind().to_uppercase()),
            format!("row {row}: {e}"),
            None,
        ),
    };
    let row = match &failure {
        Failure::AtRow(row, _) => Some(*row as u32),
        _ => None,
    };
    let build = || -> Result<Error> {
        let mut error = env.create_error(Error::new(Status::GenericFailure, message.clone()))?;
        error.set_named_property("code", code.as_str())?;
        if let Some((line, column)) = position {
            error.set_named_property("line", line)?;
            error.set_named_property("column", column)?;
        }
        if let Some(row) = row {
            error.set_named_property("row", row)?;
        }
        Ok(Error::from(napi::JsValue::to_unknown(&error)))
    };
    // If even building the error fails, still throw one that says what went wrong.
    build().unwrap_or_else(|_| Error::new(Status::GenericFailure, format!("{code}: {message}")))
}

/// Results of the core or of argument reading, thrown as JavaScript errors.
trait Throw<T> {
    fn js(self, env: &Env) -> Result<T>;
}

impl<T> Throw<T> for std::result::Result<T, Failure> {
    fn js(self, env: &Env) -> Result<T> {
        self.map_err(|f| thrown(env, f))
    }
}

impl<T> Throw<T> for segcore::Result<T> {
    fn js(self, env: &Env) -> Result<T> {
        self.map_err(|e| thrown(env, Failure::Core(e)))
    }
}

type Read<T> = std::result::Result<T, Failure>;

/// An attribute or property value as JavaScript gives it.
pub type JsValue<'a> = Either5<String, bool, f64, Vec<String>, JsDate<'a>>;

/// An instant as JavaScript gives it: a `Date`, an ISO 8601 string with an offset, or epoch
/// milliseconds.
pub type JsInstant<'a> = Either3<JsDate<'a>, String, f64>;

fn millis(ms: f64) -> Read<Timestamp> {
    if !ms.is_finite() {
        return Err(argument(format!("{ms} is not a time")));
    }
    Timestamp::from_nanosecond((ms * 1e6).round() as i128)
        .map_err(|e| argument(format!("{ms} ms since the epoch: {e}")))
}

fn instant(v: &JsInstant<'_>) -> Read<Timestamp> {
    match v {
        Either3::A(date) => millis(date.value_of().map_err(napi_error)?),
        Either3::B(text) => text
            .parse()
            .map_err(|e| argument(format!("`{text}` is not a time with an offset: {e}"))),
        Either3::C(ms) => millis(*ms),
    }
}

fn instant_or_now(v: Option<JsInstant<'_>>) -> Read<Timestamp> {
    v.as_ref().map_or_else(|| Ok(Timestamp::now()), instant)
}

fn value(v: JsValue<'_>) -> Read<Value> {
    Ok(match v {
        Either5::A(s) => Value::String(s),
        Either5::B(b) => Value::Bool(b),
        Either5::C(x) => Value::Number(x),
        Either5::D(items) => Value::List(items),
        Either5::E(date) => Value::Timestamp(millis(date.value_of().map_err(napi_error)?)?),
    })
}

/// The `code` of every error segcore throws (`error.code`), one per kind of mistake.
#[napi(string_enum)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum ErrorCode {
    /// Predicate text that does not parse; the error has `line` and `column`.
    SEGCORE_PARSE,
    /// Predicate JSON that does not read; the error has `line` and `column`.
    SEGCORE_JSON,
    /// A name the audience does not know; the message names the nearest known one.
    SEGCORE_UNKNOWN_NAME,
    /// A value whose type does not fit the schema.
    SEGCORE_SCHEMA,
    /// A comparison whose types do not fit.
    SEGCORE_TYPE,
    /// A value no type admits (NaN, an empty name, a malformed tag or zone).
    SEGCORE_INVALID_VALUE,
    /// A predicate nested too deeply.
    SEGCORE_TOO_DEEP,
    /// A segment definition that would refer to itself.
    SEGCORE_CYCLE,
    /// A segment other segments still refer to.
    SEGCORE_SEGMENT_IN_USE,
    /// Bytes that are not an intact audience image.
    SEGCORE_CORRUPT,
    /// An argument the binding cannot read (an unparseable time, a bad row).
    SEGCORE_ARGUMENT,
}

/// One event of a bulk `trackMany`: the profile, the event's name, its time (an ISO 8601
/// string with an offset or epoch milliseconds; default now), numeric values and properties.
#[napi(object)]
pub struct EventRow {
    /// The profile's id.
    pub id: String,
    /// The event's name.
    pub name: String,
    /// When it happened.
    pub at: Option<Either<String, f64>>,
    /// Numeric values, such as an amount.
    pub values: Option<HashMap<String, f64>>,
    /// String or number properties.
    pub properties: Option<HashMap<String, Either<String, f64>>>,
}

fn event_of(row: EventRow) -> Read<(String, Event)> {
    let at = match &row.at {
        None => Timestamp::now(),
        Some(Either::A(text)) => instant(&Either3::B(text.clone()))?,
        Some(Either::B(ms)) => millis(*ms)?,
    };
    Ok((row.id, event(row.name, at, row.values, row.properties)))
}

/// An event with its numeric values and string or number properties.
fn event(
    name: String,
    at: Timestamp,
    values: Option<HashMap<String, f64>>,
    properties: Option<HashMap<String, Either<String, f64>>>,
) -> Event {
    let mut event = Event::new(name, at);
    for (k, x) in values.into_iter().flatten() {
        event = event.value(k, x);
    }
    for (k, v) in properties.into_iter().flatten() {
        event = match v {
            Either::A(s) => event.property(k, s),
            Either::B(x) => event.property(k, x),
        };
    }
    event
}

/// The rows of a bulk `trackMany`, read on the main thread.
fn events_of(rows: Vec<EventRow>) -> Read<Vec<(String, Event)>> {
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            event_of(row).map_err(|f| match f {
                Failure::Argument(m) => Failure::Argument(format!("row {i}: {m}")),
                other => other,
            })
        })
        .collect()
}

/// Writes `events` in order and returns how many; stops at the first the core refuses.
fn track_all(audience: &mut segcore::Audience, events: Vec<(String, Event)>) -> Read<u32> {
    let n = events.len() as u32;
    for (i, (id, event)) in events.into_iter().enumerate() {
        audience
            .track(&id, event)
            .map_err(|e| Failure::AtRow(i, e))?;
    }
    Ok(n)
}

/// `trackManyAsync`'s work: the rows, read on the main thread, written on a worker.
pub struct TrackMany {
    audience: Arc<RwLock<segcore::Audience>>,
    events: Option<Read<Vec<(String, Event)>>>,
}

impl Task for TrackMany {
    type Output = Read<u32>;
    type JsValue = u32;

    fn compute(&mut self) -> Result<Self::Output> {
        let events = match self.events.take() {
            Some(Ok(events)) => events,
            Some(Err(failure)) => return Ok(Err(failure)),
            None => return Ok(Err(argument("the load already ran".to_owned()))),
        };
        let mut audience = self.audience.write().unwrap_or_else(|e| e.into_inner());
        Ok(track_all(&mut audience, events))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<u32> {
        output.js(&env)
    }
}

/// A plan step of `explain`.
#[napi(object)]
pub struct PlanStep {
    /// What the step tests.
    pub label: String,
    /// How: index, scan, buckets, tally, and, or, not, segment, reused, skipped.
    pub method: String,
    /// Profiles the step was given.
    pub input: f64,
    /// The planner's estimate of its result.
    pub estimated: f64,
    /// Its result's size.
    pub actual: f64,
    /// Microseconds it took.
    pub elapsed_us: f64,
    /// Its parts.
    pub children: Vec<PlanStep>,
}

fn plan(step: &segcore::PlanStep) -> PlanStep {
    PlanStep {
        label: step.label.clone(),
        method: step.method.name().to_owned(),
        input: step.input as f64,
        estimated: step.estimated as f64,
        actual: step.actual as f64,
        elapsed_us: step.elapsed.as_secs_f64() * 1e6,
        children: step.children.iter().map(plan).collect(),
    }
}

/// Profiles with typed attributes, tags, events and consent, and named segments over them.
/// Wherever a segment is expected, pass a defined segment's name or a predicate's text.
#[napi]
pub struct Audience {
    /// Shared with the worker threads of the async calls; writes wait for running reads.
    inner: Arc<RwLock<segcore::Audience>>,
}

impl Audience {
    fn read(&self) -> RwLockReadGuard<'_, segcore::Audience> {
        // The core never panics while holding the lock (it returns errors), and a refused
        // write changes nothing, so a poisoned lock still guards a whole audience.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, segcore::Audience> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The predicate a segment argument stands for, and the instant `now` stands for.
    fn question(
        &self,
        env: &Env,
        segment: &str,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<(segcore::Predicate, Timestamp)> {
        let predicate = self.read().query(segment).js(env)?;
        Ok((predicate, instant_or_now(now).js(env)?))
    }

    /// An async twin's task: the segment is read and run on a worker thread, so every
    /// failure — a bad time, a parse error, an unknown name — rejects the promise.
    fn query_task<T: Answer>(
        &self,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
        run: fn(&segcore::Audience, &segcore::Predicate, Timestamp) -> segcore::Result<T>,
    ) -> AsyncTask<Query<T>> {
        AsyncTask::new(Query {
            audience: Arc::clone(&self.inner),
            segment,
            now: Some(instant_or_now(now)),
            run,
        })
    }
}

#[napi]
impl Audience {
    /// A new, empty audience whose calendar windows resolve in `timeZone` (default UTC).
    #[napi(constructor)]
    pub fn new(env: Env, time_zone: Option<String>) -> Result<Self> {
        let inner =
            segcore::Audience::with_time_zone(time_zone.as_deref().unwrap_or("UTC")).js(&env)?;
        Ok(Audience {
            inner: Arc::new(RwLock::new(inner)),
        })
    }

    /// The generated sample shop (seed 42, a year of events up to 2026-11-01T12:00:00Z, time
    /// zone Europe/Stockholm), the same as the Rust examples and benchmarks build. `minimal`
    /// writes only country, age and tags besides the events.
    #[napi(factory)]
    pub fn sample_shop(
        customers: u32,
        events_per_customer: Option<u32>,
        minimal: Option<bool>,
    ) -> Self {
        let mut shop = segcore::sample::SampleShop::new(customers as usize);
        if let Some(events) = events_per_customer {
            shop.events_per_customer = events;
        }
        if minimal == Some(true) {
            shop.detail = segcore::sample::ProfileDetail::Minimal;
        }
        Audience {
            inner: Arc::new(RwLock::new(shop.build())),
        }
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
    #[napi]
    pub fn has(&self, id: String) -> bool {
        self.read().slot(&id).is_some()
    }

    /// Declares an attribute's type (`string`, `number`, `bool`, `timestamp` or `list`), so
    /// segments can use it before the first value arrives.
    #[napi]
    pub fn declare_attribute(&self, env: Env, name: String, type_name: String) -> Result<()> {
        let ty = segcore::AttrType::from_name(&type_name).js(&env)?;
        self.write().declare_attribute(&name, ty).js(&env)
    }

    /// Declares an event name.
    #[napi]
    pub fn declare_event(&self, env: Env, name: String) -> Result<()> {
        self.write().declare_event(&name).js(&env)
    }

    /// Declares an event property's type (`string` or `number`).
    #[napi]
    pub fn declare_event_property(
        &self,
        env: Env,
        event: String,
        key: String,
        type_name: String,
    ) -> Result<()> {
        let ty = segcore::AttrType::from_name(&type_name).js(&env)?;
        self.write()
            .declare_event_property(&event, &key, ty)
            .js(&env)
    }

    /// Declares a tag namespace (the `interest` of `interest:outdoor`).
    #[napi]
    pub fn declare_tag_namespace(&self, env: Env, namespace: String) -> Result<()> {
        self.write().declare_tag_namespace(&namespace).js(&env)
    }

    /// Declares a consent channel beyond `email`, `sms` and `push`.
    #[napi]
    pub fn declare_channel(&self, env: Env, channel: String) -> Result<()> {
        self.write().declare_channel(&channel).js(&env)
    }

    /// Creates the profile if new and sets the attributes (all or nothing).
    #[napi]
    pub fn upsert(
        &self,
        env: Env,
        id: String,
        attributes: HashMap<String, Either5<String, bool, f64, Vec<String>, JsDate<'_>>>,
    ) -> Result<()> {
        let values = attributes
            .into_iter()
            .map(|(k, v)| Ok((k, value(v)?)))
            .collect::<Read<Vec<_>>>()
            .js(&env)?;
        self.write().upsert(&id, values).map(|_| ()).js(&env)
    }

    /// Adds a tag (creating the profile if new); `at` defaults to now.
    #[napi]
    pub fn tag(
        &self,
        env: Env,
        id: String,
        tag: String,
        at: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<()> {
        let at = instant_or_now(at).js(&env)?;
        self.write().tag(&id, &tag, at).js(&env)
    }

    /// Removes a tag; returns whether the profile held it.
    #[napi]
    pub fn untag(&self, env: Env, id: String, tag: String) -> Result<bool> {
        self.write().untag(&id, &tag).js(&env)
    }

    /// Records an event (creating the profile if new): numeric `values` such as an amount,
    /// and string or number `properties`. `at` defaults to now.
    #[napi]
    pub fn track(
        &self,
        env: Env,
        id: String,
        name: String,
        at: Option<Either3<JsDate<'_>, String, f64>>,
        values: Option<HashMap<String, f64>>,
        properties: Option<HashMap<String, Either<String, f64>>>,
    ) -> Result<()> {
        let event = event(name, instant_or_now(at).js(&env)?, values, properties);
        self.write().track(&id, event).js(&env)
    }

    /// Records many events in order (a bulk load); returns how many. A row the core refuses
    /// stops the load with its error, whose `row` property is the row's index; the rows before
    /// it stay recorded.
    #[napi]
    pub fn track_many(&self, env: Env, events: Vec<EventRow>) -> Result<u32> {
        let events = events_of(events).js(&env)?;
        track_all(&mut self.write(), events).js(&env)
    }

    /// `trackMany` off the main thread.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn track_many_async(&self, events: Vec<EventRow>) -> AsyncTask<TrackMany> {
        AsyncTask::new(TrackMany {
            audience: Arc::clone(&self.inner),
            events: Some(events_of(events)),
        })
    }

    /// Records a consent decision (creating the profile if new); `at` defaults to now.
    #[napi]
    pub fn set_consent(
        &self,
        env: Env,
        id: String,
        channel: String,
        granted: bool,
        at: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<()> {
        let at = instant_or_now(at).js(&env)?;
        self.write()
            .set_consent(&id, &channel, granted, at)
            .js(&env)
    }

    /// Erases a profile; returns whether it existed.
    #[napi]
    pub fn erase(&self, id: String) -> bool {
        self.write().erase(&id)
    }

    /// Defines (or replaces) a named segment from a predicate's text.
    #[napi]
    pub fn define(&self, env: Env, name: String, predicate: String) -> Result<()> {
        let mut audience = self.write();
        let p = audience.predicate(&predicate).js(&env)?;
        audience.define_segment(&name, p).js(&env)
    }

    /// Removes a named segment (refused while others refer to it); returns its text.
    #[napi]
    pub fn remove(&self, env: Env, name: String) -> Result<String> {
        self.write()
            .remove_segment(&name)
            .map(|p| p.to_string())
            .js(&env)
    }

    /// The named segments and their definitions' text.
    #[napi]
    pub fn segments(&self) -> HashMap<String, String> {
        self.read()
            .catalog()
            .iter()
            .map(|(n, p)| (n.to_owned(), p.to_string()))
            .collect()
    }

    /// How many profiles are in the segment at `now` (default: the current time).
    #[napi]
    pub fn count(
        &self,
        env: Env,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<f64> {
        let (p, now) = self.question(&env, &segment, now)?;
        self.read().count(&p, now).map(|n| n as f64).js(&env)
    }

    /// `count` off the main thread.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn count_async(
        &self,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> AsyncTask<Query<u64>> {
        self.query_task(segment, now, segcore::Audience::count)
    }

    /// The ids of the segment's members, in the order profiles were first seen.
    #[napi]
    pub fn members(
        &self,
        env: Env,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<Vec<String>> {
        let (p, now) = self.question(&env, &segment, now)?;
        self.read().members(&p, now).js(&env)
    }

    /// `members` off the main thread.
    #[napi(ts_return_type = "Promise<Array<string>>")]
    pub fn members_async(
        &self,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> AsyncTask<Query<Vec<String>>> {
        self.query_task(segment, now, segcore::Audience::members)
    }

    /// The members' slots.
    #[napi]
    pub fn member_slots(
        &self,
        env: Env,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<Uint32Array> {
        let (p, now) = self.question(&env, &segment, now)?;
        let slots = self.read().member_slots(&p, now).js(&env)?;
        Ok(Uint32Array::new(slots))
    }

    /// `memberSlots` off the main thread.
    #[napi(ts_return_type = "Promise<Uint32Array>")]
    pub fn member_slots_async(
        &self,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> AsyncTask<Query<Vec<u32>>> {
        self.query_task(segment, now, segcore::Audience::member_slots)
    }

    /// Whether one profile is in the segment.
    #[napi]
    pub fn matches(
        &self,
        env: Env,
        id: String,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<bool> {
        let (p, now) = self.question(&env, &segment, now)?;
        self.read().matches(&id, &p, now).js(&env)
    }

    /// The named segments one profile is in, sorted.
    #[napi]
    pub fn segments_of(
        &self,
        env: Env,
        id: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<Vec<String>> {
        let now = instant_or_now(now).js(&env)?;
        self.read().segments_of(&id, now).js(&env)
    }

    /// Runs the query and returns its plan.
    #[napi]
    pub fn explain(
        &self,
        env: Env,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<PlanStep> {
        let (p, now) = self.question(&env, &segment, now)?;
        let explain = self.read().explain(&p, now).js(&env)?;
        Ok(plan(&explain.root))
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

/// A query run on a worker thread (the async twins): the answer, or the core's error, which
/// becomes the promise's rejection with the same `code` as the synchronous call's.
pub struct Query<T> {
    audience: Arc<RwLock<segcore::Audience>>,
    segment: String,
    /// Read on the main thread (a `Date` cannot leave it); taken by `compute`.
    now: Option<Read<Timestamp>>,
    run: fn(&segcore::Audience, &segcore::Predicate, Timestamp) -> segcore::Result<T>,
}

impl<T: Answer> Task for Query<T> {
    type Output = Read<T>;
    type JsValue = T::Js;

    fn compute(&mut self) -> Result<Self::Output> {
        let now = match self.now.take() {
            Some(Ok(now)) => now,
            Some(Err(failure)) => return Ok(Err(failure)),
            None => return Ok(Err(argument("the query already ran".to_owned()))),
        };
        let audience = self.audience.read().unwrap_or_else(|e| e.into_inner());
        let answer = audience
            .query(&self.segment)
            .and_then(|predicate| (self.run)(&audience, &predicate, now));
        Ok(answer.map_err(Failure::Core))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        output.map(Answer::into_js).js(&env)
    }
}
