//! Live membership on `segcore._segcore.Audience`: the clock, transitions, live members.
//! Argument and result conversion only; the core decides everything.

use numpy::PyArray1;
use pyo3::prelude::*;

use crate::audience::Audience;
use crate::convert::{datetime, datetime_ceil, instant, instant_or_now};
use crate::errors::IntoPy;

/// A profile entering or leaving a segment, and when it happened.
#[pyclass(frozen, eq, module = "segcore._segcore")]
#[derive(PartialEq)]
pub(crate) struct Transition {
    /// The profile's id.
    #[pyo3(get)]
    profile: String,
    /// The profile's slot.
    #[pyo3(get)]
    slot: u32,
    /// The segment's name.
    #[pyo3(get)]
    segment: String,
    /// `"entered"` or `"left"`.
    #[pyo3(get)]
    direction: &'static str,
    at: jiff::Timestamp,
}

#[pymethods]
impl Transition {
    /// When it happened, as an aware UTC datetime: the first microsecond by which it had
    /// happened (the core stamps nanoseconds; `at_ns` is exact).
    #[getter]
    fn at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_ceil(py, self.at)
    }

    /// When it happened, in nanoseconds since the Unix epoch (exact).
    #[getter]
    fn at_ns(&self) -> i128 {
        self.at.as_nanosecond()
    }

    fn __repr__(&self) -> String {
        format!(
            "Transition(profile={:?}, segment={:?}, direction={:?}, at={:?})",
            self.profile,
            self.segment,
            self.direction,
            self.at.to_string()
        )
    }
}

fn transitions(moved: Vec<segcore::Transition>) -> Vec<Transition> {
    moved
        .into_iter()
        .map(|t| Transition {
            profile: t.profile,
            slot: t.slot,
            segment: t.segment,
            direction: t.direction.name(),
            at: t.at,
        })
        .collect()
}

#[pymethods]
impl Audience {
    /// Turns live membership on with the clock at `now` (default: the current time).
    #[pyo3(signature = (now = None))]
    fn start_live(&self, py: Python<'_>, now: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let now = instant_or_now(now)?;
        py.detach(|| self.write().start_live(now)).py_err()
    }

    /// Turns live membership off (queued transitions stay until drained).
    fn stop_live(&self) {
        self.write().stop_live();
    }

    /// The audience clock while live membership is on, else None.
    #[getter]
    fn clock<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.read().clock().map(|t| datetime(py, t)).transpose()
    }

    /// Moves the clock forward to `to`; returns the transitions time made happen on the way,
    /// each stamped with its own instant, in time order.
    fn advance_to(&self, py: Python<'_>, to: &Bound<'_, PyAny>) -> PyResult<Vec<Transition>> {
        let to = instant(to)?;
        let moved = py.detach(|| self.write().advance_to(to)).py_err()?;
        Ok(transitions(moved))
    }

    /// When time alone next changes some membership, or None: rounded up to the microsecond,
    /// so that `advance_to` this instant takes in the change. Advancing there gives at least
    /// one transition (instants where a condition turns without changing any segment are
    /// passed over, up to `segcore::live::MAX_CHECKS` of them per call).
    fn next_change_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        py.detach(|| self.write().next_change_at())
            .map(|t| datetime_ceil(py, t))
            .transpose()
    }

    /// Takes the transitions the write methods queued, oldest first.
    fn drain_transitions(&self) -> Vec<Transition> {
        transitions(self.write().drain_transitions())
    }

    /// How many transitions wait in the queue.
    #[getter]
    fn queued_transitions(&self) -> usize {
        self.read().queued_transitions()
    }

    /// How many transitions the queue holds before writes raise `QueueFullError`.
    fn set_queue_capacity(&self, capacity: usize) -> PyResult<()> {
        self.write().set_queue_capacity(capacity).py_err()
    }

    /// A segment's members at the clock, as live membership keeps them.
    fn live_members(&self, segment: &str) -> PyResult<Vec<String>> {
        self.read().live_members(segment).py_err()
    }

    /// A segment's members' slots at the clock, as a numpy `uint32` array.
    fn live_member_slots<'py>(
        &self,
        py: Python<'py>,
        segment: &str,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let slots = self.read().live_member_slots(segment).py_err()?;
        Ok(PyArray1::from_vec(py, slots))
    }
}
