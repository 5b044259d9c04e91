//! The public facade: an audience of profiles, its schema, its catalog of segments, and the
//! queries over them.

use std::sync::{Arc, OnceLock};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::catalog::Catalog;
use crate::decide::Compiled;
use crate::error::{Error, NameKind, Result};
use crate::explain::Explain;
use crate::language::Predicate;
use crate::limits::check_instant;
use crate::live::{Change, Feed, Live};
use crate::matcher::Matcher;
use crate::profile::{Consent, Event, Profile};
use crate::reference::Reference;
use crate::reverse::{Reverse, ReverseStats};
use crate::schema::{check_name, Schema};
use crate::storage::{Attached, Record};
use crate::store::Store;
use crate::suggest::nearest;
use crate::validate::validate;
use crate::value::{AttrType, Value};

/// The most properties one event may carry.
pub const MAX_EVENT_PROPERTIES: usize = 1024;

/// The store of profiles, with their attributes, tags, events and consent, and a catalog of
/// named segments.
///
/// Writes are checked against the schema before anything is stored, so a failed write changes
/// nothing. Queries take an explicit `now` so that answers are reproducible.
///
/// ```
/// use segcore::{Audience, Event, Predicate};
///
/// let mut audience = Audience::new();
/// let now: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
/// audience.upsert("ada", [("country", "SE".into())])?;
/// audience.tag("ada", "vip", now)?;
/// audience.track("ada", Event::new("purchase", now).value("amount", 120.0))?;
///
/// audience.define_segment("swedish_vips", audience.predicate(r#"country == "SE" and tag "vip""#)?)?;
/// assert_eq!(audience.members(&Predicate::segment("swedish_vips"), now)?, ["ada"]);
/// assert_eq!(audience.segments_of("ada", now)?, ["swedish_vips"]);
/// # Ok::<(), segcore::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Audience {
    pub(crate) store: Store,
    pub(crate) schema: Schema,
    pub(crate) catalog: Catalog,
    pub(crate) time_zone: TimeZone,
    /// Live membership, when started.
    pub(crate) live: Option<Box<Live>>,
    /// Transitions from the plain write methods, until drained.
    pub(crate) feed: Feed,
    /// Defined decisions, checked.
    pub(crate) decisions: std::collections::BTreeMap<String, Compiled>,
    /// The catalog indexed for `segments_of`, built on first use after a catalog change.
    pub(crate) reverse: OnceLock<Arc<Reverse>>,
    /// The directory and journal of a durable audience (`Audience::open`).
    pub(crate) durable: Attached,
    /// Ids merged into other profiles by ingest, built from `merged_ids` when first needed.
    pub(crate) aliases: crate::ingest::Aliases,
}

impl Default for Audience {
    fn default() -> Self {
        Audience::new()
    }
}

impl Audience {
    /// An empty audience in UTC.
    pub fn new() -> Audience {
        Audience {
            store: Store::default(),
            schema: Schema::default(),
            catalog: Catalog::default(),
            time_zone: TimeZone::UTC,
            live: None,
            feed: Feed::default(),
            reverse: OnceLock::new(),
            decisions: Default::default(),
            durable: Attached::default(),
            aliases: Default::default(),
        }
    }

    /// An empty audience whose calendar periods follow an IANA time zone.
    ///
    /// ```
    /// let a = segcore::Audience::with_time_zone("Europe/Stockholm")?;
    /// assert_eq!(a.time_zone(), "Europe/Stockholm");
    /// let e = segcore::Audience::with_time_zone("Europe/Stokholm").unwrap_err();
    /// assert!(e.to_string().contains("Europe/Stockholm"));
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn with_time_zone(name: &str) -> Result<Audience> {
        let mut a = Audience::new();
        a.set_time_zone(name)?;
        Ok(a)
    }

    /// Changes the time zone used for calendar periods and civil-time literals.
    pub fn set_time_zone(&mut self, name: &str) -> Result<()> {
        let zone = TimeZone::get(name).map_err(|_| {
            // Listing the zone database reads a directory tree: once per process is enough.
            static KNOWN: OnceLock<Vec<String>> = OnceLock::new();
            let known =
                KNOWN.get_or_init(|| jiff::tz::db().available().map(|n| n.to_string()).collect());
            Error::UnknownName {
                kind: NameKind::TimeZone,
                name: name.to_owned(),
                suggestion: nearest(name, known.iter().map(String::as_str)),
            }
        })?;
        self.journal(|| Record::TimeZone {
            name: name.to_owned(),
        })?;
        self.time_zone = zone;
        self.restart_live();
        Ok(())
    }

    /// The IANA name of the audience's time zone (`UTC` by default).
    pub fn time_zone(&self) -> &str {
        self.time_zone.iana_name().unwrap_or("UTC")
    }

    /// The schema: known attributes, events, tag namespaces and channels.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The catalog of named segments.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Number of live (not erased) profiles.
    pub fn len(&self) -> usize {
        self.store.live_count()
    }

    /// Whether the audience has no live profiles.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of a profile, if it exists.
    pub fn slot(&self, id: &str) -> Option<u32> {
        self.store.slot(id)
    }

    /// A snapshot of one profile.
    pub fn profile(&self, id: &str) -> Option<Profile> {
        self.store.snapshot(self.store.slot(id)?)
    }

    // ---- schema declarations ----

    /// Declares an attribute's type before any value is written.
    pub fn declare_attribute(&mut self, name: &str, ty: AttrType) -> Result<()> {
        self.schema.check_declare_attribute(name, ty)?;
        self.journal(|| Record::DeclareAttribute {
            name: name.to_owned(),
            ty,
        })?;
        self.schema.declare_attribute(name, ty)
    }

    /// Declares an event name, so segments can refer to it before it first happens.
    pub fn declare_event(&mut self, name: &str) -> Result<()> {
        check_name(name, "an event name")?;
        self.journal(|| Record::DeclareEvent {
            name: name.to_owned(),
        })?;
        self.schema.declare_event(name)
    }

    /// Declares a property (or numeric value) of an event, a string or a number.
    pub fn declare_event_property(&mut self, event: &str, key: &str, ty: AttrType) -> Result<()> {
        self.schema.check_declare_event_property(event, key, ty)?;
        self.journal(|| Record::DeclareEventProperty {
            event: event.to_owned(),
            key: key.to_owned(),
            ty,
        })?;
        self.schema.declare_event_property(event, key, ty)
    }

    /// Declares a tag namespace (the `interest` of `interest:outdoor`).
    pub fn declare_tag_namespace(&mut self, namespace: &str) -> Result<()> {
        crate::schema::check_tag_namespace(namespace)?;
        self.journal(|| Record::DeclareTagNamespace {
            namespace: namespace.to_owned(),
        })?;
        self.schema.declare_tag_namespace(namespace)
    }

    /// Declares a consent channel beyond the built-in `email`, `sms` and `push`.
    pub fn declare_channel(&mut self, channel: &str) -> Result<()> {
        check_name(channel, "a consent channel")?;
        self.journal(|| Record::DeclareChannel {
            channel: channel.to_owned(),
        })?;
        self.schema.declare_channel(channel)
    }

    // ---- writes ----

    /// Creates the profile if it is new and sets the given attributes. The whole write is
    /// checked first (types, finite numbers, names), so on error nothing changes.
    /// Returns the profile's slot.
    pub fn upsert<K, I>(&mut self, id: &str, attributes: I) -> Result<u32>
    where
        K: AsRef<str>,
        I: IntoIterator<Item = (K, Value)>,
    {
        self.room()?;
        let attributes: Vec<(K, Value)> = attributes.into_iter().collect();
        self.check_upsert(id, &attributes)?;
        self.journal(|| Record::upsert(id, &attributes))?;
        self.upsert_now(id, attributes)
    }

    /// Everything that could refuse an upsert, checked before anything is journaled or changed.
    fn check_upsert<K: AsRef<str>>(&self, id: &str, attributes: &[(K, Value)]) -> Result<()> {
        check_name(id, "a profile id")?;
        for (i, (name, value)) in attributes.iter().enumerate() {
            let name = name.as_ref();
            check_name(name, "an attribute name")?;
            value.check(name)?;
            self.schema.check_attribute(name, value.attr_type())?;
            // The same name twice in one write must agree with itself too.
            if let Some((_, earlier)) = attributes[..i].iter().find(|(n, _)| n.as_ref() == name) {
                if earlier.attr_type() != value.attr_type() {
                    return Err(Error::Schema {
                        field: name.to_owned(),
                        expected: earlier.attr_type(),
                        found: value.attr_type(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Applies an upsert that [`Audience::check_upsert`] passed.
    fn upsert_now<K: AsRef<str>>(&mut self, id: &str, attributes: Vec<(K, Value)>) -> Result<u32> {
        let (slot, created) = self.store.slot_or_create(id);
        let names: Vec<String> = attributes
            .iter()
            .map(|(n, _)| n.as_ref().to_owned())
            .collect();
        for (name, value) in attributes {
            let name = name.as_ref();
            if name == crate::ingest::MERGED_IDS {
                self.aliases.invalidate();
            }
            self.schema.declare_attribute(name, value.attr_type())?;
            self.store.set_attribute(slot, name, Some(value));
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.notify(slot, created, Change::Attributes(&names));
        Ok(slot)
    }

    /// [`Audience::upsert`] and [`Audience::tag`] as one write, for bulk loads: the attributes
    /// and every tag are checked first, so on error nothing changes.
    pub fn upsert_tagged<K, I>(
        &mut self,
        id: &str,
        attributes: I,
        tags: &[String],
        at: Timestamp,
    ) -> Result<u32>
    where
        K: AsRef<str>,
        I: IntoIterator<Item = (K, Value)>,
    {
        for tag in tags {
            check_tag(tag)?;
        }
        check_instant(at, "the tags' time")?;
        self.room()?;
        let attributes: Vec<(K, Value)> = attributes.into_iter().collect();
        self.check_upsert(id, &attributes)?;
        self.journal(|| Record::upsert_tagged(id, &attributes, tags, at))?;
        let slot = self.upsert_now(id, attributes)?;
        for tag in tags {
            // Checked above, and the id by `check_upsert`: this cannot fail.
            self.tag_now(id, tag, at)?;
        }
        Ok(slot)
    }

    /// Removes one attribute value from a profile. Returns whether it had one.
    pub fn unset(&mut self, id: &str, attribute: &str) -> Result<bool> {
        let slot = self.existing(id)?;
        self.room()?;
        self.journal(|| Record::Unset {
            id: id.to_owned(),
            attribute: attribute.to_owned(),
        })?;
        let had = self.store.attribute(slot, attribute).is_some();
        if attribute == crate::ingest::MERGED_IDS {
            self.aliases.invalidate();
        }
        self.store.set_attribute(slot, attribute, None);
        self.notify(slot, false, Change::Attributes(&[attribute]));
        Ok(had)
    }

    /// Adds a tag at time `at`, creating the profile if it is new. Re-adding a held tag keeps
    /// the time it was first added. A namespaced tag (`interest:outdoor`) makes its namespace known.
    pub fn tag(&mut self, id: &str, tag: &str, at: Timestamp) -> Result<()> {
        self.room()?;
        check_name(id, "a profile id")?;
        check_tag(tag)?;
        check_instant(at, "the tag's time")?;
        self.journal(|| Record::Tag {
            id: id.to_owned(),
            tag: tag.to_owned(),
            at: at.into(),
        })?;
        self.tag_now(id, tag, at)
    }

    /// Applies a tag whose id, tag and time have been checked.
    fn tag_now(&mut self, id: &str, tag: &str, at: Timestamp) -> Result<()> {
        if let Some((ns, _)) = tag.split_once(':') {
            self.schema.declare_tag_namespace(ns)?;
        }
        let (slot, created) = self.store.slot_or_create(id);
        self.store.add_tag(slot, tag, at);
        self.notify(slot, created, Change::Tag(tag));
        Ok(())
    }

    /// Removes a tag. Returns whether the profile held it.
    pub fn untag(&mut self, id: &str, tag: &str) -> Result<bool> {
        let slot = self.existing(id)?;
        self.room()?;
        self.journal(|| Record::Untag {
            id: id.to_owned(),
            tag: tag.to_owned(),
        })?;
        let had = self.store.remove_tag(slot, tag);
        self.notify(slot, false, Change::Tag(tag));
        Ok(had)
    }

    /// Records an event, creating the profile if it is new. An event holds at most
    /// [`MAX_EVENT_PROPERTIES`] properties. Events may arrive out of time
    /// order. Property types are inferred per event name and enforced.
    pub fn track(&mut self, id: &str, event: Event) -> Result<()> {
        check_name(id, "a profile id")?;
        check_event(&self.schema, &event)?;
        self.room()?;
        self.journal(|| Record::track(id, &event))?;
        self.schema.declare_event(&event.name)?;
        for (key, value) in &event.properties {
            self.schema
                .declare_event_property(&event.name, key, value.attr_type())?;
        }
        let (slot, created) = self.store.slot_or_create(id);
        self.store.insert_event(slot, &event);
        self.notify(slot, created, Change::Event(&event.name));
        Ok(())
    }

    /// Records a consent decision on a channel, creating the profile if it is new. A decision
    /// older than the one held is ignored, so late deliveries cannot undo a newer choice.
    pub fn set_consent(
        &mut self,
        id: &str,
        channel: &str,
        granted: bool,
        at: Timestamp,
    ) -> Result<()> {
        check_name(id, "a profile id")?;
        check_instant(at, "the consent's time")?;
        check_name(channel, "a consent channel")?;
        self.room()?;
        self.journal(|| Record::Consent {
            id: id.to_owned(),
            channel: channel.to_owned(),
            granted,
            at: at.into(),
        })?;
        self.schema.declare_channel(channel)?;
        let (slot, created) = self.store.slot_or_create(id);
        self.store
            .set_consent(slot, channel, Consent { granted, at });
        self.notify(slot, created, Change::Consent(channel));
        Ok(())
    }

    /// Forgets a profile: its attributes, tags, events and consent are dropped, and it is no
    /// longer counted or matched. Returns whether it existed. A later write with the same id
    /// starts a new, empty profile.
    ///
    /// Erasing is never refused by live membership: the profile leaves its segments even
    /// when the transition queue is full (the queue then holds more than its capacity). On a
    /// durable audience the erasure is journaled like any write (an [`Error::Io`] if the
    /// journal has failed); the profile's data leaves the directory at the next
    /// [`Audience::compact`].
    pub fn erase(&mut self, id: &str) -> Result<bool> {
        let Some(slot) = self.store.slot(id) else {
            return Ok(false);
        };
        self.journal(|| Record::Erase { id: id.to_owned() })?;
        self.forget_aliases(id);
        if let Some(live) = self.live.as_mut() {
            let left = live.on_erase(slot, id);
            self.feed.push(left);
        }
        self.store.erase(id);
        Ok(true)
    }

    pub(crate) fn existing_slot(&self, id: &str) -> Result<u32> {
        self.existing(id)
    }

    fn existing(&self, id: &str) -> Result<u32> {
        self.store.slot(id).ok_or_else(|| Error::UnknownName {
            kind: NameKind::Profile,
            name: id.to_owned(),
            suggestion: None,
        })
    }

    // ---- segments ----

    /// Parses the text form and validates it against this audience.
    pub fn predicate(&self, text: &str) -> Result<Predicate> {
        let p = Predicate::parse(text)?;
        self.validate(&p)?;
        Ok(p)
    }

    /// What the bindings accept wherever a segment is expected: the name of a defined segment
    /// (a reference to it), or else a predicate's text, parsed and validated.
    ///
    /// ```
    /// # let mut audience = segcore::Audience::new();
    /// audience.define_segment("everyone", audience.predicate("not consent email")?)?;
    /// assert_eq!(audience.query("everyone")?.to_string(), "segment everyone");
    /// assert_eq!(audience.query("consent sms")?.to_string(), "consent sms");
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn query(&self, name_or_text: &str) -> Result<Predicate> {
        if self.catalog.get(name_or_text).is_some() {
            return Ok(Predicate::segment(name_or_text));
        }
        self.predicate(name_or_text)
    }

    /// Checks a predicate against the schema and catalog: known names (with suggestions for
    /// unknown ones), fitting types, well-formed values.
    pub fn validate(&self, predicate: &Predicate) -> Result<()> {
        validate(predicate, &self.schema, &self.catalog)
    }

    /// What every query checks first: a valid predicate, and a `now` within
    /// [`limits`](crate::limits).
    fn question(&self, predicate: &Predicate, now: Timestamp) -> Result<()> {
        check_instant(now, "`now`")?;
        self.validate(predicate)
    }

    /// Defines a named segment, or replaces its definition. Refused (and nothing changes) if
    /// the predicate is invalid or would make segment references circular.
    pub fn define_segment(&mut self, name: &str, predicate: Predicate) -> Result<()> {
        check_name(name, "a segment name")?;
        self.validate(&predicate)?;
        let depths = self.catalog.check_define(name, &predicate)?;
        self.journal(|| Record::DefineSegment {
            name: name.to_owned(),
            text: predicate.to_string(),
        })?;
        self.catalog.define_checked(name, predicate, depths);
        self.reverse = OnceLock::new();
        self.track_live(name);
        Ok(())
    }

    /// Removes a named segment; refused while other segments refer to it.
    /// Refused too while a decision's rules refer to it.
    pub fn remove_segment(&mut self, name: &str) -> Result<Predicate> {
        let deciders = self.decisions_using(name);
        if !deciders.is_empty() && self.catalog.get(name).is_some() {
            return Err(Error::SegmentInUse {
                segment: name.to_owned(),
                used_by: deciders,
            });
        }
        self.catalog.check_remove(name)?;
        self.journal(|| Record::RemoveSegment {
            name: name.to_owned(),
        })?;
        let removed = self.catalog.remove(name)?;
        self.reverse = OnceLock::new();
        if let Some(live) = self.live.as_mut() {
            live.untrack(name);
        }
        Ok(removed)
    }

    // ---- queries ----

    /// How many live profiles match at `now`.
    pub fn count(&self, predicate: &Predicate, now: Timestamp) -> Result<u64> {
        self.question(predicate, now)?;
        Ok(Matcher::new(self, now).count(predicate))
    }

    /// The external ids of the matching profiles, in slot (first-seen) order.
    pub fn members(&self, predicate: &Predicate, now: Timestamp) -> Result<Vec<String>> {
        let slots = self.member_slots(predicate, now)?;
        Ok(slots
            .into_iter()
            .filter_map(|s| self.store.record(s).map(|r| r.id.to_string()))
            .collect())
    }

    /// The slots of the matching profiles, ascending.
    pub fn member_slots(&self, predicate: &Predicate, now: Timestamp) -> Result<Vec<u32>> {
        self.question(predicate, now)?;
        Ok(Matcher::new(self, now).run(predicate).0.to_vec())
    }

    /// Runs a query and returns its plan: each step's method, input, estimated and actual size.
    pub fn explain(&self, predicate: &Predicate, now: Timestamp) -> Result<Explain> {
        self.question(predicate, now)?;
        Ok(Explain {
            root: Matcher::new(self, now).run(predicate).1,
        })
    }

    /// The matching slots as the reference evaluator finds them, testing every live profile one
    /// at a time. This is the definition every fast path is checked against; it is slow on
    /// purpose — use [`Audience::member_slots`] for answers.
    pub fn member_slots_by_reference(
        &self,
        predicate: &Predicate,
        now: Timestamp,
    ) -> Result<Vec<u32>> {
        self.question(predicate, now)?;
        let reference = Reference::new(self, now);
        Ok(self
            .store
            .live_slots()
            .filter(|&slot| reference.matches(predicate, slot))
            .collect())
    }

    /// Whether one profile matches, as the reference evaluator decides: the definition
    /// [`Audience::matches`] and [`Audience::segments_of`] are checked against (and the plain
    /// loop the reverse-matching benchmark compares with).
    pub fn matches_by_reference(
        &self,
        id: &str,
        predicate: &Predicate,
        now: Timestamp,
    ) -> Result<bool> {
        let slot = self.existing(id)?;
        self.question(predicate, now)?;
        Ok(Reference::new(self, now).matches(predicate, slot))
    }

    /// Whether one profile matches. The matcher runs on that profile alone: index conditions
    /// are membership tests, the rest is evaluated for this one profile.
    pub fn matches(&self, id: &str, predicate: &Predicate, now: Timestamp) -> Result<bool> {
        let slot = self.existing(id)?;
        self.question(predicate, now)?;
        Ok(Matcher::new(self, now).matches(predicate, slot))
    }

    /// The names of the catalog's segments that one profile is in, sorted.
    ///
    /// The catalog is indexed on first use (and again after it changes): only segments whose
    /// necessary values, tags, channels and events the profile has are evaluated, and each
    /// condition shared between segments once, so the cost grows with what the profile has
    /// rather than with the number of segments.
    pub fn segments_of(&self, id: &str, now: Timestamp) -> Result<Vec<String>> {
        let slot = self.existing(id)?;
        check_instant(now, "`now`")?;
        let reverse = self.reverse_index();
        Ok(reverse
            .segments_of(self, slot, now)
            .into_iter()
            .map(|s| reverse.name(s).to_owned())
            .collect())
    }

    /// The reverse index of the catalog (built now if the catalog changed since the last use),
    /// and its size: what [`Audience::segments_of`] walks.
    pub fn reverse_index_stats(&self) -> ReverseStats {
        self.reverse_index().stats()
    }

    /// The reverse index of the catalog as it is now (shared with live membership).
    pub(crate) fn reverse_index(&self) -> &Arc<Reverse> {
        self.reverse.get_or_init(|| Arc::new(Reverse::build(self)))
    }
}

/// Tags are non-empty, and `*` is kept for wildcards.
/// Checks an event against the schema without recording anything: its name and time, the
/// number of its properties, each value and type, no key twice.
pub(crate) fn check_event(schema: &Schema, event: &Event) -> Result<()> {
    check_name(&event.name, "an event name")?;
    check_instant(event.at, "the event's time")?;
    if event.properties.len() > MAX_EVENT_PROPERTIES {
        return Err(Error::InvalidValue(format!(
            "event `{}` has {} properties; at most {MAX_EVENT_PROPERTIES} are allowed",
            event.name,
            event.properties.len()
        )));
    }
    for (i, (key, value)) in event.properties.iter().enumerate() {
        value.check(key)?;
        schema.check_event_property(&event.name, key, value.attr_type())?;
        if event.properties[..i].iter().any(|(k, _)| k == key) {
            return Err(Error::InvalidValue(format!(
                "event `{}` has property `{key}` twice",
                event.name
            )));
        }
    }
    Ok(())
}

pub(crate) fn check_tag(tag: &str) -> Result<()> {
    check_name(tag, "a tag")?;
    if tag.contains('*') {
        return Err(Error::InvalidValue(format!(
            "tag `{tag}` may not contain `*`, which is kept for wildcards"
        )));
    }
    if tag.starts_with(':') || tag.ends_with(':') {
        return Err(Error::InvalidValue(format!(
            "tag `{tag}` has an empty namespace or name"
        )));
    }
    Ok(())
}
