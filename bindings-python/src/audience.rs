//! `segcore._segcore.Audience`: the core `Audience` behind a read-write lock, so that several
//! Python threads can query at once with the GIL released, and a write waits for them.
//!
//! Wherever a segment is expected, a method takes the name of a defined segment, a predicate's
//! text, or a `Predicate`.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use arrow_array::RecordBatch;
use numpy::PyArray1;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyType};
use segcore::ingest::ProfileColumns;
use segcore::{AttrType, Event, PlanStep, Value};

use crate::convert::{datetime, instant_or_now, to_object, value};
use crate::errors::IntoPy;
use crate::loads::{self, EventRows, ProfileRows};
use crate::predicate::Predicate;

/// Profiles with typed attributes, tags, events and consent, and named segments over them.
#[pyclass(subclass, frozen, module = "segcore._segcore")]
pub(crate) struct Audience {
    inner: RwLock<segcore::Audience>,
}

impl Audience {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, segcore::Audience> {
        // A panic cannot happen while the lock is held (the core returns errors), but if one
        // did, the audience is still whole: every write is checked before it is applied.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, segcore::Audience> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one call's single write and, on a durable audience, waits for it to be on disk —
    /// after releasing the lock and without the GIL, so that writers in other threads append
    /// meanwhile and share the next fsync (group commit). The record reaches the journal file
    /// before it is applied (`deferred`): a write the disk refuses is not applied.
    pub(crate) fn commit<T: Send>(
        &self,
        py: Python<'_>,
        write: impl FnOnce(&mut segcore::Audience) -> segcore::Result<T> + Send,
    ) -> PyResult<T> {
        self.committed(py, false, write)
    }

    /// [`Audience::commit`] for a call of several writes that must survive a crash together
    /// (or many, like RFM scores): one batch, buffered and written when it ends.
    pub(crate) fn commit_many<T: Send>(
        &self,
        py: Python<'_>,
        write: impl FnOnce(&mut segcore::Audience) -> segcore::Result<T> + Send,
    ) -> PyResult<T> {
        self.committed(py, true, write)
    }

    fn committed<T: Send>(
        &self,
        py: Python<'_>,
        many: bool,
        write: impl FnOnce(&mut segcore::Audience) -> segcore::Result<T> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let mut audience = self.write();
            let (value, commit) = if many {
                audience.batch(write)?
            } else {
                audience.deferred(write)?
            };
            drop(audience);
            commit.wait()?;
            Ok(value)
        })
        .py_err()
    }

    /// Runs a bulk load: `prepare` converts each record batch's columns (holding the GIL), and
    /// the batches are gathered until they hold `group_rows` rows (at least one batch); then
    /// `write` writes the group's rows (without the GIL, under one lock) and says how many; a
    /// refused row becomes the core's error with its row number in the table. `progress` is
    /// called after each group. Returns the rows loaded.
    fn load<P: Sync>(
        &self,
        py: Python<'_>,
        table: &Bound<'_, PyAny>,
        progress: Option<&Bound<'_, PyAny>>,
        mut prepare: impl FnMut(&RecordBatch) -> PyResult<P>,
        group_rows: impl Fn(&segcore::Audience) -> usize,
        write: impl Fn(&mut segcore::Audience, &[P]) -> Result<usize, (segcore::Error, usize)> + Sync,
    ) -> PyResult<usize> {
        let mut reader = loads::stream(table)?;
        let mut done = 0;
        loop {
            let limit = group_rows(&self.read());
            let (mut group, mut rows) = (Vec::new(), 0);
            while group.is_empty() || rows < limit {
                let Some(batch) = loads::next_batch(&mut reader)? else {
                    break;
                };
                rows += batch.num_rows();
                group.push(prepare(&batch)?);
            }
            if group.is_empty() {
                return Ok(done);
            }
            // One write a group: one fsync for its rows on a durable audience.
            let outcome = py
                .detach(|| {
                    let (outcome, commit) = self.write().batch(|a| Ok(write(a, &group)))?;
                    commit.wait()?;
                    Ok(outcome)
                })
                .py_err()?;
            match outcome {
                Ok(n) => done += n,
                Err((e, r)) => return Err(loads::row_error(py, e, done + r)),
            }
            if let Some(progress) = progress {
                progress.call1((done,))?;
            }
        }
    }

    /// The predicate a segment argument stands for.
    pub(crate) fn resolve(&self, segment: &Bound<'_, PyAny>) -> PyResult<segcore::Predicate> {
        if let Ok(p) = segment.cast::<Predicate>() {
            let p = p.get().inner.clone();
            self.read().validate(&p).py_err()?;
            return Ok(p);
        }
        if let Ok(text) = segment.cast::<PyString>() {
            return self.read().query(text.to_str()?).py_err();
        }
        Err(PyTypeError::new_err(format!(
            "a segment is a name, a predicate's text or a Predicate, not {}",
            segment.get_type().name()?
        )))
    }
}

fn attr_type(name: &str) -> PyResult<AttrType> {
    AttrType::from_name(name).py_err()
}

fn plan<'py>(py: Python<'py>, step: &PlanStep) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("label", &step.label)?;
    d.set_item("method", step.method.name())?;
    d.set_item("input", step.input)?;
    d.set_item("estimated", step.estimated)?;
    d.set_item("actual", step.actual)?;
    d.set_item("elapsed_us", step.elapsed.as_secs_f64() * 1e6)?;
    let children = PyList::empty(py);
    for child in &step.children {
        children.append(plan(py, child)?)?;
    }
    d.set_item("children", children)?;
    Ok(d)
}

#[pymethods]
impl Audience {
    #[new]
    #[pyo3(signature = (time_zone = "UTC"))]
    fn new(time_zone: &str) -> PyResult<Self> {
        Ok(Audience {
            inner: RwLock::new(segcore::Audience::with_time_zone(time_zone).py_err()?),
        })
    }

    /// The IANA time zone calendar windows resolve in.
    #[getter]
    fn time_zone(&self) -> String {
        self.read().time_zone().to_owned()
    }

    #[setter]
    fn set_time_zone(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.commit(py, |a| a.set_time_zone(name))
    }

    fn __len__(&self) -> usize {
        self.read().len()
    }

    /// For segcore's own tests: panics inside the binding while holding the audience's write
    /// lock, to show that a bug raises `InternalError` rather than pyo3's `PanicException`
    /// (which `except Exception` misses). Refused unless `SEGCORE_TEST_PANICS=1` is set.
    fn _panic_for_tests(&self, message: &str) -> PyResult<()> {
        if std::env::var("SEGCORE_TEST_PANICS").as_deref() != Ok("1") {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "_panic_for_tests runs only with SEGCORE_TEST_PANICS=1",
            ));
        }
        let _held = self.write();
        panic!("{message}");
    }

    fn __contains__(&self, id: &str) -> bool {
        self.read().slot(id).is_some()
    }

    // ---- schema ----

    /// Declares an attribute's type (`string`, `number`, `bool`, `timestamp` or `list`).
    fn declare_attribute(&self, py: Python<'_>, name: &str, r#type: &str) -> PyResult<()> {
        let ty = attr_type(r#type)?;
        self.commit(py, |a| a.declare_attribute(name, ty))
    }

    /// Declares an event name.
    fn declare_event(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.commit(py, |a| a.declare_event(name))
    }

    /// Declares an event property's type (`string` or `number`).
    fn declare_event_property(
        &self,
        py: Python<'_>,
        event: &str,
        key: &str,
        r#type: &str,
    ) -> PyResult<()> {
        let ty = attr_type(r#type)?;
        self.commit(py, |a| a.declare_event_property(event, key, ty))
    }

    /// Declares a tag namespace.
    fn declare_tag_namespace(&self, py: Python<'_>, namespace: &str) -> PyResult<()> {
        self.commit(py, |a| a.declare_tag_namespace(namespace))
    }

    /// Declares a consent channel.
    fn declare_channel(&self, py: Python<'_>, channel: &str) -> PyResult<()> {
        self.commit(py, |a| a.declare_channel(channel))
    }

    /// The schema as plain data: attribute types, events with their property types, tag
    /// namespaces, channels.
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let audience = self.read();
        let schema = audience.schema();
        let d = PyDict::new(py);
        let attributes = PyDict::new(py);
        for (name, ty) in schema.attributes() {
            attributes.set_item(name, ty.name())?;
        }
        let events = PyDict::new(py);
        for event in schema.events() {
            let props = PyDict::new(py);
            for (key, ty) in schema.event_properties(event) {
                props.set_item(key, ty.name())?;
            }
            events.set_item(event, props)?;
        }
        d.set_item("attributes", attributes)?;
        d.set_item("events", events)?;
        d.set_item(
            "tag_namespaces",
            schema.tag_namespaces().collect::<Vec<_>>(),
        )?;
        d.set_item("channels", schema.channels().collect::<Vec<_>>())?;
        Ok(d)
    }

    // ---- writes ----

    /// Creates the profile if new and sets the given attributes (all or nothing).
    fn upsert(&self, py: Python<'_>, id: &str, attributes: &Bound<'_, PyDict>) -> PyResult<()> {
        let mut values = Vec::with_capacity(attributes.len());
        for (k, v) in attributes.iter() {
            let key: String = k.extract()?;
            let v = value(&key, &v)?;
            values.push((key, v));
        }
        self.commit(py, |a| a.upsert(id, values).map(drop))
    }

    /// Removes attributes from a profile; returns how many it had.
    fn unset(&self, py: Python<'_>, id: &str, names: Vec<String>) -> PyResult<usize> {
        self.commit_many(py, |a| {
            let mut removed = 0;
            for name in &names {
                removed += usize::from(a.unset(id, name)?);
            }
            Ok(removed)
        })
    }

    /// Adds a tag (creating the profile if new); `at` defaults to now.
    #[pyo3(signature = (id, tag, at = None))]
    fn tag(
        &self,
        py: Python<'_>,
        id: &str,
        tag: &str,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let at = instant_or_now(at)?;
        self.commit(py, |a| a.tag(id, tag, at))
    }

    /// Removes a tag; returns whether the profile held it.
    fn untag(&self, py: Python<'_>, id: &str, tag: &str) -> PyResult<bool> {
        self.commit(py, |a| a.untag(id, tag))
    }

    /// Records an event (creating the profile if new): numeric `values` such as an amount, and
    /// string or number `properties`. `at` defaults to now.
    #[pyo3(signature = (id, name, at = None, values = None, properties = None))]
    #[allow(clippy::too_many_arguments)]
    fn track(
        &self,
        py: Python<'_>,
        id: &str,
        name: &str,
        at: Option<&Bound<'_, PyAny>>,
        values: Option<&Bound<'_, PyDict>>,
        properties: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let mut event = Event::new(name, instant_or_now(at)?);
        for (k, v) in values.into_iter().flat_map(|d| d.iter()) {
            let key: String = k.extract()?;
            let x: f64 = v.extract().map_err(|_| {
                PyTypeError::new_err(format!("value `{key}` of event `{name}` is not a number"))
            })?;
            event = event.value(key, x);
        }
        for (k, v) in properties.into_iter().flat_map(|d| d.iter()) {
            let key: String = k.extract()?;
            let v = value(&key, &v)?;
            event = event.property(key, v);
        }
        self.commit(py, |a| a.track(id, event))
    }

    /// Records a consent decision (creating the profile if new); `at` defaults to now.
    #[pyo3(signature = (id, channel, granted, at = None))]
    fn set_consent(
        &self,
        py: Python<'_>,
        id: &str,
        channel: &str,
        granted: bool,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let at = instant_or_now(at)?;
        self.commit(py, |a| a.set_consent(id, channel, granted, at))
    }

    /// Erases a profile and everything about it; returns whether it existed.
    fn erase(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        self.commit(py, |a| a.erase(id))
    }

    /// One profile as plain data, or None.
    fn profile<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(p) = self.read().profile(id) else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("id", &p.id)?;
        let attributes = PyDict::new(py);
        for (k, v) in &p.attributes {
            attributes.set_item(k, to_object(py, v)?)?;
        }
        d.set_item("attributes", attributes)?;
        let tags = PyDict::new(py);
        for (tag, at) in &p.tags {
            tags.set_item(tag, datetime(py, *at)?)?;
        }
        d.set_item("tags", tags)?;
        let events = PyList::empty(py);
        for e in &p.events {
            let event = PyDict::new(py);
            event.set_item("name", &e.name)?;
            event.set_item("at", datetime(py, e.at)?)?;
            let props = PyDict::new(py);
            for (k, v) in &e.properties {
                props.set_item(k, to_object(py, v)?)?;
            }
            event.set_item("properties", props)?;
            events.append(event)?;
        }
        d.set_item("events", events)?;
        let consent = PyDict::new(py);
        for (channel, decision) in &p.consent {
            let c = PyDict::new(py);
            c.set_item("granted", decision.granted)?;
            c.set_item("at", datetime(py, decision.at)?)?;
            consent.set_item(channel, c)?;
        }
        d.set_item("consent", consent)?;
        Ok(Some(d))
    }

    // ---- bulk loads (see loads.rs) ----

    /// Loads profiles from a table: one row a profile, `id` its id column, `tags` an optional
    /// column of tag lists (added at `tagged_at`, default now), every other column an
    /// attribute. Returns the number of rows loaded; `progress(rows_so_far)` is called after
    /// each batch.
    #[pyo3(signature = (table, id = "id", tags = None, tagged_at = None, progress = None))]
    fn _load_profiles(
        &self,
        py: Python<'_>,
        table: &Bound<'_, PyAny>,
        id: &str,
        tags: Option<&str>,
        tagged_at: Option<&Bound<'_, PyAny>>,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let tagged_at = instant_or_now(tagged_at)?;
        let prepare = |batch: &RecordBatch| -> PyResult<ProfileRows> {
            let ids = loads::required_strings(loads::column(batch, id)?, id)?;
            let tag_lists = match tags {
                Some(t) => Some(loads::values(loads::column(batch, t)?, t)?),
                None => None,
            };
            let mut attributes = Vec::new();
            for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
                let name = field.name();
                if name != id && Some(name.as_str()) != tags {
                    attributes.push((name.clone(), loads::values(array, name)?));
                }
            }
            Ok((ids, tag_lists, attributes))
        };
        let write_batch = |audience: &mut segcore::Audience,
                           (ids, tag_lists, attributes): &ProfileRows| {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let attributes: Vec<(&str, &[Option<Value>])> = attributes
                .iter()
                .map(|(name, column)| (name.as_str(), column.as_slice()))
                .collect();
            audience
                .load_profiles(&ProfileColumns {
                    ids: &ids,
                    attributes: &attributes,
                    tags: tag_lists.as_deref(),
                    tagged_at,
                })
                .map_err(|e| (e.error, e.row))
        };
        let write = |audience: &mut segcore::Audience, group: &[ProfileRows]| {
            let mut offset = 0;
            for rows in group {
                offset += write_batch(audience, rows).map_err(|(e, r)| (e, offset + r))?;
            }
            Ok(offset)
        };
        // A batch a group: `load_profiles` writes each batch's new profiles in bulk, and a
        // batch loaded after another adds to its indexes without rewriting them.
        self.load(py, table, progress, prepare, |_| 0, write)
    }

    /// Loads events from a table: one row an event, with its profile's `id`, its `name` and
    /// `time` (timestamps, dates, RFC 3339 strings or epoch seconds); numeric columns become
    /// the event's values, string columns its properties. Returns the number of rows loaded.
    #[pyo3(signature = (table, id = "id", name = "name", time = "time", progress = None))]
    fn _load_events(
        &self,
        py: Python<'_>,
        table: &Bound<'_, PyAny>,
        id: &str,
        name: &str,
        time: &str,
        progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let prepare = |batch: &RecordBatch| -> PyResult<EventRows> {
            let ids = loads::required_utf8(loads::column(batch, id)?, id)?;
            let names = loads::required_utf8(loads::column(batch, name)?, name)?;
            let times = loads::required_instants(loads::column(batch, time)?, time)?;
            let mut properties = Vec::new();
            for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
                let key = field.name();
                if key != id && key != name && key != time {
                    properties.push((key.clone(), loads::property_values(array, key)?));
                }
            }
            Ok(EventRows {
                ids,
                names,
                times,
                properties,
            })
        };
        let write = loads::write_events;
        self.load(
            py,
            table,
            progress,
            prepare,
            segcore::Audience::event_load_rows,
            write,
        )
    }

    // ---- segments ----

    /// Parses and validates a predicate against this audience.
    fn predicate(&self, text: &str) -> PyResult<Predicate> {
        Ok(Predicate {
            inner: self.read().predicate(text).py_err()?,
        })
    }

    /// Defines (or replaces) a named segment from text or a Predicate.
    fn define(&self, py: Python<'_>, name: &str, predicate: &Bound<'_, PyAny>) -> PyResult<()> {
        let p = match predicate.cast::<Predicate>() {
            Ok(p) => p.get().inner.clone(),
            Err(_) => {
                let text: &str = predicate.cast::<PyString>()?.to_str()?;
                segcore::Predicate::parse(text).py_err()?
            }
        };
        self.commit(py, |a| a.define_segment(name, p))
    }

    /// Removes a named segment (refused while others refer to it); returns its definition.
    fn remove(&self, py: Python<'_>, name: &str) -> PyResult<Predicate> {
        Ok(Predicate {
            inner: self.commit(py, |a| a.remove_segment(name))?,
        })
    }

    /// The named segments and their definitions' text, by name.
    fn segments(&self) -> Vec<(String, String)> {
        self.read()
            .catalog()
            .iter()
            .map(|(n, p)| (n.to_owned(), p.to_string()))
            .collect()
    }

    // ---- queries (the GIL is released while the core works) ----

    /// How many profiles are in the segment at `now` (default: the current time).
    #[pyo3(signature = (segment, now = None))]
    fn count(
        &self,
        py: Python<'_>,
        segment: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let (p, now) = (self.resolve(segment)?, instant_or_now(now)?);
        py.detach(|| self.read().count(&p, now)).py_err()
    }

    /// The ids of the segment's members, in the order profiles were first seen.
    #[pyo3(signature = (segment, now = None))]
    fn members(
        &self,
        py: Python<'_>,
        segment: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<String>> {
        let (p, now) = (self.resolve(segment)?, instant_or_now(now)?);
        py.detach(|| self.read().members(&p, now)).py_err()
    }

    /// The members' slots as a numpy `uint32` array (handed over, not copied).
    #[pyo3(signature = (segment, now = None))]
    fn member_slots<'py>(
        &self,
        py: Python<'py>,
        segment: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let (p, now) = (self.resolve(segment)?, instant_or_now(now)?);
        let slots = py.detach(|| self.read().member_slots(&p, now)).py_err()?;
        Ok(PyArray1::from_vec(py, slots))
    }

    /// Whether one profile is in the segment.
    #[pyo3(signature = (id, segment, now = None))]
    fn matches(
        &self,
        id: &str,
        segment: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let (p, now) = (self.resolve(segment)?, instant_or_now(now)?);
        self.read().matches(id, &p, now).py_err()
    }

    /// The named segments one profile is in, sorted.
    #[pyo3(signature = (id, now = None))]
    fn segments_of(&self, id: &str, now: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
        let now = instant_or_now(now)?;
        self.read().segments_of(id, now).py_err()
    }

    /// Runs the query and returns its plan as text and as a tree of dicts.
    #[pyo3(signature = (segment, now = None))]
    fn _explain<'py>(
        &self,
        py: Python<'py>,
        segment: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(String, Bound<'py, PyDict>)> {
        let (p, now) = (self.resolve(segment)?, instant_or_now(now)?);
        let explain = py.detach(|| self.read().explain(&p, now)).py_err()?;
        Ok((explain.to_string(), plan(py, &explain.root)?))
    }

    // ---- images (pickle) ----

    /// The audience as bytes (`Audience.from_bytes` reads them back).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let bytes = py.detach(|| self.read().to_bytes());
        PyBytes::new(py, &bytes)
    }

    /// An audience from `to_bytes`' bytes; damaged bytes raise `CorruptError`.
    #[classmethod]
    fn from_bytes<'py>(cls: &Bound<'py, PyType>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let loaded = cls
            .py()
            .detach(|| segcore::Audience::from_bytes(data))
            .py_err()?;
        let instance = cls.call0()?;
        *instance.cast::<Audience>()?.get().write() = loaded;
        Ok(instance)
    }

    /// The generated sample shop (seed 42, a year of events up to `segcore.SAMPLE_NOW`, time
    /// zone Europe/Stockholm), the same as the Rust examples and benchmarks build. `minimal`
    /// writes only country, age and tags besides the events. Sizes are bounded (at most
    /// 50,000,000 customers, 1,000 events per customer, 500,000,000 events in all).
    #[classmethod]
    #[pyo3(signature = (customers, events_per_customer = 24, minimal = false))]
    fn sample_shop<'py>(
        cls: &Bound<'py, PyType>,
        customers: usize,
        events_per_customer: u32,
        minimal: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut shop = segcore::sample::SampleShop::new(customers);
        shop.events_per_customer = events_per_customer;
        if minimal {
            shop.detail = segcore::sample::ProfileDetail::Minimal;
        }
        let built = cls.py().detach(|| shop.try_build()).py_err()?;
        let instance = cls.call0()?;
        *instance.cast::<Audience>()?.get().write() = built;
        Ok(instance)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = slf.get_type().getattr("from_bytes")?;
        Ok((from_bytes, (slf.get().to_bytes(slf.py()),)))
    }
}
