//! Why a profile is or is not in a segment: the definition walked clause by clause through the
//! reference evaluator, each clause with its verdict and the value it saw ("purchase count in
//! last 30d = 1, needed at least 2 times").

use std::fmt;

use jiff::Timestamp;

use crate::column::AttrRef;
use crate::error::Result;
use crate::geo;
use crate::language::{CountTest, Predicate};
use crate::limits::check_instant;
use crate::reference::{tag_matches, Reference};
use crate::store::RecordRef;
use crate::Audience;

/// How a clause's parts decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clause {
    /// A test of the profile's own data (`seen` and `needed` say what and why).
    Leaf,
    /// Holds when all parts hold (an `and`, or a segment defined by one).
    All,
    /// Holds when any part holds (an `or`, or a segment defined by one).
    Any,
    /// Holds when its one part does not.
    Not,
    /// A segment whose definition is its one part.
    Segment,
}

impl Clause {
    /// `leaf`, `all`, `any`, `not` or `segment`, as the bindings spell it.
    pub fn name(self) -> &'static str {
        match self {
            Clause::Leaf => "leaf",
            Clause::All => "all",
            Clause::Any => "any",
            Clause::Not => "not",
            Clause::Segment => "segment",
        }
    }
}

/// One clause of a definition and why it holds or not for one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Why {
    /// The clause, in the text form.
    pub condition: String,
    /// How its parts decide it.
    pub clause: Clause,
    /// Whether it holds (the reference evaluator's answer).
    pub holds: bool,
    /// What the profile has there (`country = "DE"`), for a leaf.
    pub seen: Option<String>,
    /// What the clause asks of it (`in ["SE", "DK"]`), for a leaf.
    pub needed: Option<String>,
    /// The clauses of an `and`, `or` or `not`, or a referred segment's definition.
    pub parts: Vec<Why>,
}

impl Audience {
    /// Explains, clause by clause with the values seen, why a profile is or is not in a
    /// segment (a name, or a predicate's text) at `now`. `Display` gives readable text.
    ///
    /// ```
    /// let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let mut a = segcore::Audience::new();
    /// a.upsert("ada", [("country", "DE".into())])?;
    /// a.track("ada", segcore::Event::new("purchase", now))?;
    /// a.define_segment("nordic_repeat", a.predicate(
    ///     r#"country in ["SE", "DK"] and did purchase at least 2 times in last 30d"#)?)?;
    /// let why = a.why("ada", "nordic_repeat", now)?;
    /// assert!(!why.holds);
    /// assert_eq!(why.to_string(), "\
    /// ✗ segment nordic_repeat: all of
    ///   ✗ country in [\"SE\", \"DK\"]: country = \"DE\", needed in [\"SE\", \"DK\"]
    ///   ✗ did purchase at least 2 times in last 30d: purchase count in last 30d = 1, needed at least 2 times
    /// ");
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn why(&self, id: &str, segment: &str, now: Timestamp) -> Result<Why> {
        let slot = self.existing_slot(id)?;
        let predicate = self.query(segment)?;
        check_instant(now, "`now`")?;
        let reference = Reference::new(self, now);
        let record = self.store.record(slot).expect("a live slot has a record");
        Ok(Explainer {
            audience: self,
            reference: &reference,
            slot,
            record,
        }
        .why(&predicate))
    }
}

struct Explainer<'a> {
    audience: &'a Audience,
    reference: &'a Reference<'a>,
    slot: u32,
    record: RecordRef<'a>,
}

impl Explainer<'_> {
    fn why(&self, p: &Predicate) -> Why {
        let holds = self.reference.matches(p, self.slot);
        let mut why = Why {
            condition: p.to_string(),
            clause: Clause::Leaf,
            holds,
            seen: None,
            needed: None,
            parts: Vec::new(),
        };
        match p {
            Predicate::And(parts) | Predicate::Or(parts) => {
                why.clause = if matches!(p, Predicate::And(_)) {
                    Clause::All
                } else {
                    Clause::Any
                };
                why.parts = parts.iter().map(|q| self.why(q)).collect();
            }
            Predicate::Not(inner) => {
                why.clause = Clause::Not;
                why.parts = vec![self.why(inner)];
            }
            // A segment shows its definition's clauses directly under its name.
            Predicate::Segment(name) => match self.audience.catalog.get(name) {
                Some(q @ (Predicate::And(parts) | Predicate::Or(parts))) => {
                    let all = matches!(q, Predicate::And(_));
                    why.condition = format!("{p}: {} of", if all { "all" } else { "any" });
                    why.clause = if all { Clause::All } else { Clause::Any };
                    why.parts = parts.iter().map(|q| self.why(q)).collect();
                }
                Some(q) => {
                    why.clause = Clause::Segment;
                    why.parts = vec![self.why(q)];
                }
                None => {}
            },
            leaf => {
                let (seen, needed) = self.leaf(leaf);
                why.seen = Some(seen);
                why.needed = Some(needed);
            }
        }
        why
    }

    /// What the profile has for a leaf, and what the leaf asks.
    fn leaf(&self, p: &Predicate) -> (String, String) {
        let store = &self.audience.store;
        match p {
            Predicate::Attribute { name, test } => {
                let seen = match store.attribute(self.slot, name) {
                    Some(v) => format!("{name} = {}", show(v)),
                    None => format!("{name} is missing"),
                };
                (seen, test.to_string())
            }
            Predicate::Tag { tag, within } => {
                let held: Vec<String> = self
                    .record
                    .tags
                    .iter()
                    .filter(|(t, _)| tag_matches(tag, store.tag_names.name(*t)))
                    .map(|(t, at)| format!("{} (added {at})", store.tag_names.name(*t)))
                    .collect();
                let seen = if held.is_empty() {
                    format!("no tag {tag:?}")
                } else {
                    format!("holds {}", held.join(", "))
                };
                let needed = match within {
                    Some(w) => format!("tag {tag:?} added within {w}"),
                    None => format!("tag {tag:?}"),
                };
                (seen, needed)
            }
            Predicate::TagAny(tags) | Predicate::TagAll(tags) => {
                let held: Vec<&str> = self
                    .record
                    .tags
                    .iter()
                    .map(|(t, _)| store.tag_names.name(*t))
                    .collect();
                let which = if matches!(p, Predicate::TagAny(_)) {
                    "any"
                } else {
                    "all"
                };
                (
                    format!("tags held: [{}]", held.join(", ")),
                    format!("{which} of [{}]", tags.join(", ")),
                )
            }
            Predicate::Event {
                event,
                count,
                window,
                filter,
            } => {
                let n = self
                    .reference
                    .events(self.record, event, window.as_ref(), filter)
                    .count();
                let scope = scope(window.as_ref().map(ToString::to_string), !filter.is_empty());
                let needed = count.map_or_else(
                    || "at least 1 time".to_owned(),
                    |c: CountTest| c.to_string(),
                );
                (format!("{event} count{scope} = {n}"), needed)
            }
            Predicate::Aggregate {
                func,
                event,
                value,
                window,
                filter,
                test,
            } => {
                let result = self.reference.aggregate(
                    self.record,
                    *func,
                    event,
                    value,
                    window.as_ref(),
                    filter,
                );
                let window = window.map_or(String::new(), |w| format!(" in {w}"));
                let filtered = scope(None, !filter.is_empty());
                let shown = result.map_or("undefined (no values)".to_owned(), |x| x.to_string());
                (
                    format!(
                        "{}({event}.{value}{window}){filtered} = {shown}",
                        func.name()
                    ),
                    test.to_string(),
                )
            }
            Predicate::Occurrence {
                which,
                event,
                filter,
                test,
            } => {
                let t = self
                    .reference
                    .occurrence(self.record, *which, event, filter);
                let scope = scope(None, !filter.is_empty());
                let seen = match t {
                    Some(e) => format!("{}({event}){scope} = {}", which.name(), e.at()),
                    None => format!(
                        "{}({event}){scope} is missing (never happened)",
                        which.name()
                    ),
                };
                (seen, test.to_string())
            }
            Predicate::Near(near) => {
                let lat = store.attribute(self.slot, &near.latitude_attribute);
                let lon = store.attribute(self.slot, &near.longitude_attribute);
                let seen = match geo::position(lat, lon) {
                    Some((la, lo)) => {
                        let km = geo::distance_km(la, lo, near.latitude, near.longitude);
                        let distance = km / near.unit.kilometres();
                        format!("at ({la}, {lo}), {distance:.1}{} away", near.unit.name())
                    }
                    None => "no valid location".to_owned(),
                };
                (seen, format!("within {}{}", near.radius, near.unit.name()))
            }
            Predicate::Consent(channel) => {
                let decision = store
                    .channels
                    .get(channel)
                    .and_then(|c| self.record.consent(c));
                let seen = match decision {
                    Some(d) if d.granted => format!("{channel} consent granted at {}", d.at),
                    Some(d) => format!("{channel} consent withdrawn at {}", d.at),
                    None => format!("no {channel} consent decision"),
                };
                (seen, format!("{channel} consent granted"))
            }
            Predicate::And(_) | Predicate::Or(_) | Predicate::Not(_) | Predicate::Segment(_) => {
                (String::new(), String::new())
            }
        }
    }
}

/// ` in last 30d where …` after a count or an aggregate.
fn scope(window: Option<String>, filtered: bool) -> String {
    let mut s = String::new();
    if let Some(w) = window {
        s.push_str(" in ");
        s.push_str(&w);
    }
    if filtered {
        s.push_str(" (matching the filter)");
    }
    s
}

fn show(v: AttrRef<'_>) -> String {
    match v {
        AttrRef::Str(s) => format!("{s:?}"),
        AttrRef::Num(x) => x.to_string(),
        AttrRef::Bool(b) => b.to_string(),
        AttrRef::Time(t) => t.to_string(),
        AttrRef::List(items) => format!("{items:?}"),
    }
}

impl Why {
    fn write(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let mark = if self.holds { '✓' } else { '✗' };
        write!(
            f,
            "{:indent$}{mark} {}",
            "",
            self.condition,
            indent = 2 * depth
        )?;
        if let (Some(seen), Some(needed)) = (&self.seen, &self.needed) {
            write!(f, ": {seen}, needed {needed}")?;
        }
        writeln!(f)?;
        for part in &self.parts {
            part.write(f, depth + 1)?;
        }
        Ok(())
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}
