//! `segcore` for Node: the native addon. It converts arguments, calls the Rust core, and
//! converts results and errors — nothing else.
//!
//! Errors are JavaScript `Error`s whose `code` is `SEGCORE_` and the core's stable kind in
//! capitals (`SEGCORE_PARSE`, `SEGCORE_UNKNOWN_NAME`, ...); `SEGCORE_ARGUMENT` marks an
//! argument of the wrong shape.
#![deny(missing_docs)]

use std::collections::HashMap;

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

/// A stable error code, thrown as the JavaScript error's `code`.
pub struct Code(String);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn core_error(e: segcore::Error) -> Error<Code> {
    let code = format!("SEGCORE_{}", e.kind().to_uppercase());
    let message = match &e {
        segcore::Error::Parse(p) => format!("{e} [line {}, column {}]", p.line, p.column),
        _ => e.to_string(),
    };
    Error::new(Code(code), message)
}

fn argument(message: String) -> Error<Code> {
    Error::new(Code("SEGCORE_ARGUMENT".to_owned()), message)
}

fn napi_error(e: Error) -> Error<Code> {
    argument(e.reason.clone())
}

/// An attribute or property value as JavaScript gives it.
pub type JsValue<'a> = Either5<String, bool, f64, Vec<String>, JsDate<'a>>;

/// An instant as JavaScript gives it: a `Date`, an ISO 8601 string with an offset, or epoch
/// milliseconds.
pub type JsInstant<'a> = Either3<JsDate<'a>, String, f64>;

fn millis(ms: f64) -> Result<Timestamp, Code> {
    if !ms.is_finite() {
        return Err(argument(format!("{ms} is not a time")));
    }
    Timestamp::from_nanosecond((ms * 1e6).round() as i128)
        .map_err(|e| argument(format!("{ms} ms since the epoch: {e}")))
}

fn instant(v: &JsInstant<'_>) -> Result<Timestamp, Code> {
    match v {
        Either3::A(date) => millis(date.value_of().map_err(napi_error)?),
        Either3::B(text) => text
            .parse()
            .map_err(|e| argument(format!("`{text}` is not a time with an offset: {e}"))),
        Either3::C(ms) => millis(*ms),
    }
}

fn instant_or_now(v: Option<JsInstant<'_>>) -> Result<Timestamp, Code> {
    v.as_ref().map_or_else(|| Ok(Timestamp::now()), instant)
}

fn value(v: JsValue<'_>) -> Result<Value, Code> {
    Ok(match v {
        Either5::A(s) => Value::String(s),
        Either5::B(b) => Value::Bool(b),
        Either5::C(x) => Value::Number(x),
        Either5::D(items) => Value::List(items),
        Either5::E(date) => Value::Timestamp(millis(date.value_of().map_err(napi_error)?)?),
    })
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
    inner: segcore::Audience,
}

#[napi]
impl Audience {
    /// A new, empty audience whose calendar windows resolve in `timeZone` (default UTC).
    #[napi(constructor)]
    pub fn new(time_zone: Option<String>) -> Result<Self, Code> {
        let inner = segcore::Audience::with_time_zone(time_zone.as_deref().unwrap_or("UTC"))
            .map_err(core_error)?;
        Ok(Audience { inner })
    }

    /// The number of live profiles.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.inner.len() as u32
    }

    /// The IANA time zone.
    #[napi(getter)]
    pub fn time_zone(&self) -> String {
        self.inner.time_zone().to_owned()
    }

    /// Whether a profile exists.
    #[napi]
    pub fn has(&self, id: String) -> bool {
        self.inner.slot(&id).is_some()
    }

    /// Declares an attribute's type (`string`, `number`, `bool`, `timestamp` or `list`), so
    /// segments can use it before the first value arrives.
    #[napi]
    pub fn declare_attribute(&mut self, name: String, r#type: String) -> Result<(), Code> {
        let ty = segcore::AttrType::from_name(&r#type).map_err(core_error)?;
        self.inner.declare_attribute(&name, ty).map_err(core_error)
    }

    /// Declares an event name.
    #[napi]
    pub fn declare_event(&mut self, name: String) -> Result<(), Code> {
        self.inner.declare_event(&name).map_err(core_error)
    }

    /// Declares an event property's type (`string` or `number`).
    #[napi]
    pub fn declare_event_property(
        &mut self,
        event: String,
        key: String,
        r#type: String,
    ) -> Result<(), Code> {
        let ty = segcore::AttrType::from_name(&r#type).map_err(core_error)?;
        self.inner
            .declare_event_property(&event, &key, ty)
            .map_err(core_error)
    }

    /// Declares a tag namespace (the `interest` of `interest:outdoor`).
    #[napi]
    pub fn declare_tag_namespace(&mut self, namespace: String) -> Result<(), Code> {
        self.inner
            .declare_tag_namespace(&namespace)
            .map_err(core_error)
    }

    /// Declares a consent channel beyond `email`, `sms` and `push`.
    #[napi]
    pub fn declare_channel(&mut self, channel: String) -> Result<(), Code> {
        self.inner.declare_channel(&channel).map_err(core_error)
    }

    /// Creates the profile if new and sets the attributes (all or nothing).
    #[napi]
    pub fn upsert(
        &mut self,
        id: String,
        attributes: HashMap<String, Either5<String, bool, f64, Vec<String>, JsDate<'_>>>,
    ) -> Result<(), Code> {
        let values = attributes
            .into_iter()
            .map(|(k, v)| Ok((k, value(v)?)))
            .collect::<Result<Vec<_>, Code>>()?;
        self.inner
            .upsert(&id, values)
            .map_err(core_error)
            .map(|_| ())
    }

    /// Adds a tag (creating the profile if new); `at` defaults to now.
    #[napi]
    pub fn tag(
        &mut self,
        id: String,
        tag: String,
        at: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<(), Code> {
        let at = instant_or_now(at)?;
        self.inner.tag(&id, &tag, at).map_err(core_error)
    }

    /// Removes a tag; returns whether the profile held it.
    #[napi]
    pub fn untag(&mut self, id: String, tag: String) -> Result<bool, Code> {
        self.inner.untag(&id, &tag).map_err(core_error)
    }

    /// Records an event (creating the profile if new): numeric `values` such as an amount,
    /// and string or number `properties`. `at` defaults to now.
    #[napi]
    pub fn track(
        &mut self,
        id: String,
        name: String,
        at: Option<Either3<JsDate<'_>, String, f64>>,
        values: Option<HashMap<String, f64>>,
        properties: Option<HashMap<String, Either<String, f64>>>,
    ) -> Result<(), Code> {
        let mut event = Event::new(name, instant_or_now(at)?);
        for (k, x) in values.into_iter().flatten() {
            event = event.value(k, x);
        }
        for (k, v) in properties.into_iter().flatten() {
            event = match v {
                Either::A(s) => event.property(k, s),
                Either::B(x) => event.property(k, x),
            };
        }
        self.inner.track(&id, event).map_err(core_error)
    }

    /// Records a consent decision (creating the profile if new); `at` defaults to now.
    #[napi]
    pub fn set_consent(
        &mut self,
        id: String,
        channel: String,
        granted: bool,
        at: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<(), Code> {
        let at = instant_or_now(at)?;
        self.inner
            .set_consent(&id, &channel, granted, at)
            .map_err(core_error)
    }

    /// Erases a profile; returns whether it existed.
    #[napi]
    pub fn erase(&mut self, id: String) -> bool {
        self.inner.erase(&id)
    }

    /// Defines (or replaces) a named segment from a predicate's text.
    #[napi]
    pub fn define(&mut self, name: String, predicate: String) -> Result<(), Code> {
        let p = self.inner.predicate(&predicate).map_err(core_error)?;
        self.inner.define_segment(&name, p).map_err(core_error)
    }

    /// Removes a named segment (refused while others refer to it); returns its text.
    #[napi]
    pub fn remove(&mut self, name: String) -> Result<String, Code> {
        self.inner
            .remove_segment(&name)
            .map(|p| p.to_string())
            .map_err(core_error)
    }

    /// The named segments and their definitions' text.
    #[napi]
    pub fn segments(&self) -> HashMap<String, String> {
        self.inner
            .catalog()
            .iter()
            .map(|(n, p)| (n.to_owned(), p.to_string()))
            .collect()
    }

    /// How many profiles are in the segment at `now` (default: the current time).
    #[napi]
    pub fn count(
        &self,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<f64, Code> {
        let (p, now) = (self.query(&segment)?, instant_or_now(now)?);
        self.inner
            .count(&p, now)
            .map(|n| n as f64)
            .map_err(core_error)
    }

    /// The ids of the segment's members, in the order profiles were first seen.
    #[napi]
    pub fn members(
        &self,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<Vec<String>, Code> {
        let (p, now) = (self.query(&segment)?, instant_or_now(now)?);
        self.inner.members(&p, now).map_err(core_error)
    }

    /// The members' slots.
    #[napi]
    pub fn member_slots(
        &self,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<Uint32Array, Code> {
        let (p, now) = (self.query(&segment)?, instant_or_now(now)?);
        let slots = self.inner.member_slots(&p, now).map_err(core_error)?;
        Ok(Uint32Array::new(slots))
    }

    /// Whether one profile is in the segment.
    #[napi]
    pub fn matches(
        &self,
        id: String,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<bool, Code> {
        let (p, now) = (self.query(&segment)?, instant_or_now(now)?);
        self.inner.matches(&id, &p, now).map_err(core_error)
    }

    /// The named segments one profile is in, sorted.
    #[napi]
    pub fn segments_of(
        &self,
        id: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<Vec<String>, Code> {
        let now = instant_or_now(now)?;
        self.inner.segments_of(&id, now).map_err(core_error)
    }

    /// Runs the query and returns its plan.
    #[napi]
    pub fn explain(
        &self,
        segment: String,
        now: Option<Either3<JsDate<'_>, String, f64>>,
    ) -> Result<PlanStep, Code> {
        let (p, now) = (self.query(&segment)?, instant_or_now(now)?);
        let explain = self.inner.explain(&p, now).map_err(core_error)?;
        Ok(plan(&explain.root))
    }

    fn query(&self, segment: &str) -> Result<segcore::Predicate, Code> {
        self.inner.query(segment).map_err(core_error)
    }
}
