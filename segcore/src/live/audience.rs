//! The live half of the [`Audience`] facade: start, advance, read and drain.

use jiff::Timestamp;

use super::{Change, Live, Transition};
use crate::error::{Error, NameKind, Result};
use crate::limits::check_instant;
use crate::write::Write;
use crate::Audience;

impl Audience {
    /// Turns live membership on with the clock at `now`: each defined segment's members at
    /// `now` become the baseline (no transitions), and from then on every write and every
    /// [`Audience::advance_to`] keeps them current and reports who entered and left.
    ///
    /// Writes are evaluated at the clock: an event stamped after it counts once the clock
    /// reaches its time. Starting again re-baselines at the new `now`; queued transitions stay.
    ///
    /// ```
    /// use segcore::{Audience, Direction, Event};
    ///
    /// let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    /// let mut audience = Audience::new();
    /// audience.declare_event("purchase")?;
    /// audience.define_segment("recent_buyers", audience.predicate("did purchase in last 30d")?)?;
    /// audience.start_live(t("2024-06-01T00:00:00Z"))?;
    ///
    /// audience.track("ada", Event::new("purchase", t("2024-06-01T00:00:00Z")))?;
    /// let entered = audience.drain_transitions();
    /// assert_eq!((entered[0].profile.as_str(), entered[0].direction), ("ada", Direction::Entered));
    ///
    /// // Thirty days (and a nanosecond) later ada leaves, stamped with that exact moment.
    /// assert_eq!(audience.next_change_at(), Some(t("2024-07-01T00:00:00.000000001Z")));
    /// let left = audience.advance_to(t("2024-08-01T00:00:00Z"))?;
    /// assert_eq!(left[0].direction, Direction::Left);
    /// assert_eq!(left[0].at, t("2024-07-01T00:00:00.000000001Z"));
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn start_live(&mut self, now: Timestamp) -> Result<()> {
        check_instant(now, "the clock")?;
        self.live = Some(Box::new(Live::start(self, now)));
        Ok(())
    }

    /// Turns live membership off; queued transitions stay until drained.
    pub fn stop_live(&mut self) {
        self.live = None;
    }

    /// The audience clock while live membership is on.
    pub fn clock(&self) -> Option<Timestamp> {
        self.live.as_ref().map(|l| l.clock())
    }

    /// Moves the clock forward to `to` and returns every transition time made happen in
    /// between, each stamped with the instant it happened, in time order (these are returned,
    /// not queued). Refused if `to` is before the clock or live membership is off.
    pub fn advance_to(&mut self, to: Timestamp) -> Result<Vec<Transition>> {
        check_instant(to, "the clock")?;
        let mut live = self.live.take().ok_or(Error::NotLive)?;
        if to < live.clock() {
            let clock = live.clock();
            self.live = Some(live);
            return Err(Error::ClockBackwards { clock, to });
        }
        let out = live.advance(self, to);
        self.live = Some(live);
        Ok(out)
    }

    /// When time alone next changes some segment's membership: a service can sleep until then
    /// and [`Audience::advance_to`] it, and advancing there gives at least one transition.
    /// `None` when nothing will change without a write (or live membership is off).
    ///
    /// It takes `&mut self` because finding that instant passes over the earlier instants at
    /// which a condition turns without changing any segment (a second purchase still inside
    /// the window), and remembers that work. One call checks at most
    /// [`MAX_CHECKS`](crate::live::MAX_CHECKS) instants; only beyond that can it name one
    /// where nothing changes.
    pub fn next_change_at(&mut self) -> Option<Timestamp> {
        let mut live = self.live.take()?;
        let next = live.next_change_at(self);
        self.live = Some(live);
        next
    }

    /// The slots of a segment's members at the clock, ascending, as live membership keeps them
    /// (no evaluation).
    pub fn live_member_slots(&self, segment: &str) -> Result<Vec<u32>> {
        let live = self.live.as_ref().ok_or(Error::NotLive)?;
        match live.members(segment) {
            Some(members) => Ok(members.to_vec()),
            None => Err(Error::UnknownName {
                kind: NameKind::Segment,
                name: segment.to_owned(),
                suggestion: crate::suggest::nearest(segment, self.catalog.names()),
            }),
        }
    }

    /// The ids of a segment's members at the clock, in slot order, as live membership keeps
    /// them (no evaluation).
    pub fn live_members(&self, segment: &str) -> Result<Vec<String>> {
        Ok(self
            .live_member_slots(segment)?
            .into_iter()
            .filter_map(|s| self.store.record(s).map(|r| r.id.to_string()))
            .collect())
    }

    /// Takes every queued transition, oldest first.
    pub fn drain_transitions(&mut self) -> Vec<Transition> {
        self.feed.drain()
    }

    /// How many transitions the queue may hold before writes are refused with
    /// [`Error::QueueFull`] (default [`DEFAULT_QUEUE_CAPACITY`](crate::live::DEFAULT_QUEUE_CAPACITY)).
    /// One write may take the queue past it by its own transitions; at least 1.
    pub fn set_queue_capacity(&mut self, capacity: usize) -> Result<()> {
        if capacity == 0 {
            return Err(Error::InvalidValue(
                "the transition queue needs room for at least 1 transition".to_owned(),
            ));
        }
        self.feed.set_capacity(capacity);
        Ok(())
    }

    /// Applies one write and returns the transitions it caused (not queued). With live
    /// membership off it returns none.
    ///
    /// ```
    /// use segcore::{Audience, Write};
    ///
    /// let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let mut audience = Audience::new();
    /// audience.define_segment("vips", audience.predicate(r#"tag "vip""#)?)?;
    /// audience.start_live(now)?;
    /// let moved = audience.apply(Write::Tag { id: "ada".into(), tag: "vip".into(), at: now })?;
    /// assert_eq!(moved[0].to_string(), "ada entered vips at 2024-06-01T00:00:00Z");
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn apply(&mut self, write: Write) -> Result<Vec<Transition>> {
        self.feed.begin_taking();
        let done = self.perform(write);
        let taken = self.feed.end_taking();
        done.map(|()| taken)
    }

    /// Applies one write with the method of the same name; transitions stay in the feed.
    pub(crate) fn perform(&mut self, write: Write) -> Result<()> {
        match write {
            Write::Upsert { id, attributes } => self.upsert(&id, attributes).map(drop),
            Write::Unset { id, attribute } => self.unset(&id, &attribute).map(drop),
            Write::Tag { id, tag, at } => self.tag(&id, &tag, at),
            Write::Untag { id, tag } => self.untag(&id, &tag).map(drop),
            Write::Track { id, event } => self.track(&id, event),
            Write::Consent {
                id,
                channel,
                granted,
                at,
            } => self.set_consent(&id, &channel, granted, at),
            Write::Erase { id } => self.erase(&id).map(drop),
        }
    }

    /// Refuses a queued write while the queue is full (only while live).
    pub(crate) fn room(&self) -> Result<()> {
        match self.live {
            Some(_) => self.feed.check_room(),
            None => Ok(()),
        }
    }

    /// Re-checks what a write to `slot` may have changed (every segment for a new profile).
    pub(crate) fn notify(&mut self, slot: u32, created: bool, change: Change<'_>) {
        if let Some(mut live) = self.live.take() {
            let change = if created { Change::Created } else { change };
            let moved = live.on_write(self, slot, change);
            self.feed.push(moved);
            self.live = Some(live);
        }
    }

    /// Re-baselines `name` and every segment that refers to it, as the catalog now defines them.
    pub(crate) fn track_live(&mut self, name: &str) {
        if let Some(mut live) = self.live.take() {
            let mut pending = vec![name.to_owned()];
            let mut seen = std::collections::HashSet::new();
            while let Some(next) = pending.pop() {
                if seen.insert(next.clone()) {
                    live.track(self, &next);
                    pending.extend(self.catalog.used_by(&next).map(str::to_owned));
                }
            }
            self.live = Some(live);
        }
    }

    /// Re-baselines every segment at the clock (after the time zone changed).
    pub(crate) fn restart_live(&mut self) {
        if let Some(live) = self.live.take() {
            self.live = Some(Box::new(Live::start(self, live.clock())));
        }
    }
}
