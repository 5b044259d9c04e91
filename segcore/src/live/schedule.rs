//! When one profile's membership in one segment can next change with no write: the earliest
//! instant after now at which any of the definition's time-dependent tests may turn, given
//! the profile's stored times. Re-checking there (and only there) keeps membership exact.

use jiff::tz::TimeZone;

use crate::column::AttrRef;
use crate::language::{earliest_after, test_changes_at, Nanos, Predicate};
use crate::reference::tag_matches;
use crate::store::RecordRef;
use crate::Audience;

/// The first instant after `now` at which `p` may answer differently for the live profile in
/// `slot`; `None` when only a write can change it.
pub(crate) fn next_change(
    audience: &Audience,
    p: &Predicate,
    slot: u32,
    now: Nanos,
) -> Option<Nanos> {
    let record = audience.store.record(slot)?;
    Schedule {
        audience,
        record,
        slot,
        now,
        tz: &audience.time_zone,
    }
    .of(p)
}

struct Schedule<'a> {
    audience: &'a Audience,
    record: RecordRef<'a>,
    slot: u32,
    now: Nanos,
    tz: &'a TimeZone,
}

impl Schedule<'_> {
    fn of(&self, p: &Predicate) -> Option<Nanos> {
        let (now, tz) = (self.now, self.tz);
        match p {
            Predicate::And(parts) | Predicate::Or(parts) => {
                parts.iter().filter_map(|q| self.of(q)).min()
            }
            Predicate::Not(inner) => self.of(inner),
            Predicate::Attribute { name, test } => {
                match self.audience.store.attribute(self.slot, name) {
                    Some(AttrRef::Time(t)) => test_changes_at(test, t.as_nanosecond(), now, tz),
                    _ => None,
                }
            }
            Predicate::Tag {
                tag,
                within: Some(window),
            } => self
                .record
                .tags
                .iter()
                .filter(|(held, _)| tag_matches(tag, self.audience.store.tag_names.name(*held)))
                .filter_map(|(_, added)| window.changes_at(added.as_nanosecond(), now, tz))
                .min(),
            Predicate::Event { event, window, .. } | Predicate::Aggregate { event, window, .. } => {
                self.each_event(event, |t| {
                    let enters = window.and_then(|w| w.changes_at(t, now, tz));
                    earliest_after(now, [Some(t), enters].into_iter().flatten())
                })
            }
            // Which event is first or last can change only as later ones appear.
            Predicate::Occurrence { event, test, .. } => self.each_event(event, |t| {
                earliest_after(
                    now,
                    [Some(t), test_changes_at(test, t, now, tz)]
                        .into_iter()
                        .flatten(),
                )
            }),
            Predicate::Segment(name) => self.audience.catalog.get(name).and_then(|q| self.of(q)),
            Predicate::Tag { within: None, .. }
            | Predicate::TagAny(_)
            | Predicate::TagAll(_)
            | Predicate::Near(_)
            | Predicate::Consent(_) => None,
        }
    }

    /// The least of `f` over the profile's events named `event` (filters are ignored: an
    /// instant where nothing changes only costs a re-check).
    fn each_event(&self, event: &str, f: impl Fn(Nanos) -> Option<Nanos>) -> Option<Nanos> {
        let name = self.audience.store.event_names.get(event)?;
        self.record
            .events()
            .filter(|e| e.name == name)
            .filter_map(|e| f(e.ns()))
            .min()
    }
}
