//! Decisions, templates and `why` on `segcore._segcore.Audience`: argument and result
//! conversion only; the core decides everything.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::audience::Audience;
use crate::convert::instant_or_now;
use crate::errors::IntoPy;

#[pymethods]
impl Audience {
    /// Defines (or replaces) a decision from its JSON form: a dict or a JSON string.
    fn define_decision(
        &self,
        py: Python<'_>,
        name: &str,
        decision: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let json = to_json_text(py, decision)?;
        let decision = segcore::Decision::from_json(&json).py_err()?;
        self.commit(py, |a| a.define_decision(name, decision))
    }

    /// A decision's JSON form as a dict, or None.
    fn decision<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let json = self.read().decision(name).map(segcore::Decision::to_json);
        json.map(|j| from_json_text(py, &j)).transpose()
    }

    /// The names of the defined decisions, sorted.
    fn decision_names(&self) -> Vec<String> {
        self.read().decision_names().map(str::to_owned).collect()
    }

    /// Removes a decision; returns its JSON form as a dict.
    fn remove_decision<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let removed = self.commit(py, |a| a.remove_decision(name))?;
        from_json_text(py, &removed.to_json())
    }

    /// One profile's variant: a dict with `decision`, `variant`, `payload`, `chosen_by`
    /// (`"rule"`, `"default"` or `"holdout"`), `rule` (its index, or None) and `message`.
    #[pyo3(signature = (id, decision, now = None))]
    fn decide<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        decision: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant_or_now(now)?;
        let d = self.read().decide(id, decision, now).py_err()?;
        let out = PyDict::new(py);
        out.set_item("decision", d.decision)?;
        out.set_item("variant", d.variant)?;
        out.set_item("payload", from_json_text(py, &d.payload.to_string())?)?;
        out.set_item("chosen_by", d.chosen_by.name())?;
        out.set_item("rule", d.chosen_by.rule())?;
        out.set_item("message", d.message)?;
        Ok(out)
    }

    /// Every live profile's variant: `{"variants": {name: [ids]}, "holdout": [ids]}`.
    #[pyo3(signature = (decision, now = None))]
    fn assign<'py>(
        &self,
        py: Python<'py>,
        decision: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant_or_now(now)?;
        let a = py.detach(|| self.read().assign(decision, now)).py_err()?;
        let out = PyDict::new(py);
        let variants = PyDict::new(py);
        for (name, ids) in a.variants {
            variants.set_item(name, ids)?;
        }
        out.set_item("variants", variants)?;
        out.set_item("holdout", a.holdout)?;
        Ok(out)
    }

    /// Renders a template (Jinja syntax) with one profile's fields; a missing field is empty
    /// or its `default(...)`. `escape="html"` HTML-escapes every value shown (for a page or an
    /// HTML e-mail); the default `"none"` shows values as they are (SMS, push, plain text).
    #[pyo3(signature = (id, template, escape = "none"))]
    fn render(&self, id: &str, template: &str, escape: &str) -> PyResult<String> {
        let escape = segcore::Escape::from_name(escape).py_err()?;
        let template = segcore::Template::with_escape(template, escape).py_err()?;
        self.read().render(id, &template).py_err()
    }

    /// Why a profile is or is not in a segment: a dict per clause with `condition`, `holds`,
    /// `clause`, `seen`, `needed`, `parts`, and `text` (the readable form) at the top.
    #[pyo3(signature = (id, segment, now = None))]
    fn _why<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        segment: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant_or_now(now)?;
        let why = self.read().why(id, segment, now).py_err()?;
        let out = why_dict(py, &why)?;
        out.set_item("text", why.to_string())?;
        Ok(out)
    }
}

fn why_dict<'py>(py: Python<'py>, why: &segcore::Why) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("condition", &why.condition)?;
    d.set_item("holds", why.holds)?;
    d.set_item("clause", why.clause.name())?;
    d.set_item("seen", &why.seen)?;
    d.set_item("needed", &why.needed)?;
    let parts = PyList::empty(py);
    for p in &why.parts {
        parts.append(why_dict(py, p)?)?;
    }
    d.set_item("parts", parts)?;
    Ok(d)
}

/// The JSON text of a dict (through Python's `json`), or a string as given.
fn to_json_text(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = v.extract::<String>() {
        return Ok(s);
    }
    py.import("json")?.call_method1("dumps", (v,))?.extract()
}

fn from_json_text<'py>(py: Python<'py>, json: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (json,))
}

/// The fraction in [0, 1) the holdout draw gives a profile for a decision; held out when it
/// is below the decision's share.
#[pyfunction]
pub(crate) fn holdout_fraction(decision: &str, profile: &str) -> f64 {
    segcore::decide::holdout_fraction(decision, profile)
}
