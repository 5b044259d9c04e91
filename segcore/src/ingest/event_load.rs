//! A load of events in many batches written as one: each batch is checked and converted as it
//! comes (ids to slots, names and strings interned), and the rows are written together, a
//! group of millions at a time — sorted by profile and time once, each profile's events sealed
//! in one pass, each day's rows appended as one block.
//!
//! Writing each batch on its own cost a load of 100M events in 1M-row batches 497 s (measured
//! 2026-12-03, `bulk_load -- 10000000 10`): every write either copies all that is sealed or,
//! once a batch is a small share of it, goes to the per-profile logs (an allocation and a scan
//! of the profile's history per profile per batch).

use hashbrown::HashMap;
use jiff::Timestamp;

use super::columns::{Checked, EventColumns, PropertyColumn, RowError};
use crate::audience::Audience;
use crate::index::{day_blocks, extend_columns, scatter, LoadedRows, PendingSets, NO_STRING};
use crate::store::{row_props, PropValue, RunEvent, Store};

/// Events loaded in batches and written as one load: see [`Audience::event_load`].
///
/// The rows of the batches given to [`EventLoad::add`] are written when the group reaches
/// [`Audience::event_load_rows`] rows, and when the load is finished or dropped; until then
/// they are not in the audience (the load holds it, so nothing can read it meanwhile).
///
/// ```
/// use segcore::ingest::{EventColumns, PropertyColumn};
/// use segcore::Audience;
///
/// let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
/// let mut audience = Audience::new();
/// let mut load = audience.event_load();
/// for (ids, day) in [(["ada", "bob"], "2026-03-01"), (["ada", "cy"], "2026-03-02")] {
///     let times = [t(&format!("{day}T10:00:00Z")); 2];
///     let amounts = [Some(60.0), Some(5.0)];
///     let batch = EventColumns {
///         ids: &ids,
///         names: &["purchase"; 2],
///         times: &times,
///         properties: &[("amount", PropertyColumn::Numbers(&amounts))],
///     };
///     load.add(&batch)?;
/// }
/// load.finish();
/// let big = audience.predicate("sum(purchase.amount) > 100")?;
/// assert_eq!(audience.members(&big, t("2026-03-03T00:00:00Z"))?, ["ada"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EventLoad<'a> {
    audience: &'a mut Audience,
    group: Group,
}

/// The converted rows of the batches not written yet, in arrival order.
#[derive(Debug, Default)]
struct Group {
    slots: Vec<u32>,
    names: Vec<u32>,
    at: Vec<Timestamp>,
    /// Numeric property columns by key id; NaN where a row has no value.
    numbers: Vec<(u32, Vec<f64>)>,
    /// String property columns by key id (interned values); [`NO_STRING`] where none.
    strings: Vec<(u32, Vec<u32>)>,
}

/// A group is written once it has this many rows, or a quarter as many as are sealed if that
/// is more: each write copies what is sealed, so groups grow with it and every event is copied
/// a bounded number of times (about five), while a group's memory while it is written (~80 B
/// a row) stays a fraction of the audience's. Groups of 16M rows and half of what was sealed
/// loaded 10M events no faster on this machine and peaked 0.5 GB higher (2026-12-03).
#[cfg(not(test))]
const MIN_GROUP_ROWS: usize = 1 << 21;
/// A few dozen rows in the unit tests, so that a load writes several groups.
#[cfg(test)]
const MIN_GROUP_ROWS: usize = 48;

impl Audience {
    /// Starts a load of events in batches: see [`EventLoad`]. Loading a table batch by batch
    /// through it writes the table as one load; [`Audience::load_events`] writes each call's
    /// rows at once.
    pub fn event_load(&mut self) -> EventLoad<'_> {
        EventLoad {
            audience: self,
            group: Group::default(),
        }
    }

    /// How many rows an [`EventLoad`] gathers before it writes them: what a caller reading
    /// batches from a stream may gather before handing them over. None on a durable or live
    /// audience, which writes each row as it is taken.
    pub fn event_load_rows(&self) -> usize {
        if self.writes_one_by_one() {
            return 0;
        }
        (self.store.sealed_events() / 4).max(MIN_GROUP_ROWS)
    }

    /// Whether loads go through [`Audience::track`] row by row (to journal or notify each).
    pub(super) fn writes_one_by_one(&self) -> bool {
        self.directory().is_some() || self.live.is_some()
    }
}

impl EventLoad<'_> {
    /// Checks and takes one batch, as [`Audience::load_events`] does: returns the number of its
    /// rows taken (all of them), or a [`RowError`] naming the first refused row of the batch
    /// (the rows before it are taken). A durable or live audience takes the checked rows one by
    /// one through [`Audience::track`], journaling and notifying each, at once.
    pub fn add(&mut self, columns: &EventColumns<'_>) -> Result<usize, RowError> {
        let rows = columns.rows().map_err(|error| RowError { row: 0, error })?;
        let checked = self.audience.check_columns(columns, rows);
        if self.audience.writes_one_by_one() {
            for row in 0..checked.good {
                self.audience
                    .track(columns.ids[row], columns.event(row))
                    .map_err(|error| RowError { row, error })?;
            }
        } else {
            self.audience.convert(columns, &checked, &mut self.group);
            if self.group.len() >= self.audience.event_load_rows() {
                self.write();
            }
        }
        match checked.refused {
            Some(error) => Err(RowError {
                row: checked.good,
                error,
            }),
            None => Ok(rows),
        }
    }

    /// Writes the rows taken and not yet written. Dropping the load does the same.
    pub fn finish(self) {}

    /// Writes the rows taken so far and lends the audience, for a write of another kind
    /// between batches (a journal's other records); the load goes on after it.
    pub(crate) fn audience(&mut self) -> &mut Audience {
        self.write();
        self.audience
    }

    fn write(&mut self) {
        let group = std::mem::take(&mut self.group);
        if group.len() > 0 {
            write_group(&mut self.audience.store, group);
        }
    }
}

impl Drop for EventLoad<'_> {
    fn drop(&mut self) {
        self.write();
    }
}

impl Group {
    fn len(&self) -> usize {
        self.slots.len()
    }
}

impl Audience {
    /// Declares the checked rows' names and properties in the schema, and appends the rows,
    /// converted, to `group`.
    fn convert(&mut self, columns: &EventColumns<'_>, checked: &Checked<'_>, group: &mut Group) {
        let rows = checked.good;
        let mut name_ids: HashMap<&str, u32> = HashMap::new();
        for (name, used) in &checked.names {
            self.schema
                .declare_event(name)
                .expect("checked: a non-empty name");
            for (c, (key, column)) in columns.properties.iter().enumerate() {
                if used.present[c] {
                    self.schema
                        .declare_event_property(name, key, column.attr_type())
                        .expect("checked against the schema");
                }
            }
            name_ids.insert(name, self.store.event_names.intern(name));
        }
        let before = group.len();
        let mut numbers: Vec<(u32, Vec<f64>)> = Vec::new();
        let mut strings: Vec<(u32, Vec<u32>)> = Vec::new();
        for (key, column) in columns.properties {
            let key = self.store.keys.intern(key);
            match column {
                PropertyColumn::Numbers(v) => numbers.push((
                    key,
                    v[..rows].iter().map(|x| x.unwrap_or(f64::NAN)).collect(),
                )),
                PropertyColumn::Strings(v) => strings.push((
                    key,
                    v[..rows]
                        .iter()
                        .map(|s| s.map_or(NO_STRING, |s| self.store.prop_strings.intern(s)))
                        .collect(),
                )),
            }
        }
        extend_columns(&mut group.numbers, before, rows, numbers, f64::NAN);
        extend_columns(&mut group.strings, before, rows, strings, NO_STRING);
        group
            .slots
            .extend(self.store.slots_or_insert(&columns.ids[..rows]));
        group
            .names
            .extend(names_of(&columns.names[..rows], &name_ids));
        group.at.extend_from_slice(&columns.times[..rows]);
    }
}

/// Writes a group's rows: each profile's events in time order on one side, each day's rows on
/// the other.
fn write_group(store: &mut Store, group: Group) {
    let rows = group.len();
    // Every column moved into profile-and-time order once, so that what follows reads it front
    // to back (reading the rows in that order from the input cost a cache miss per value).
    let (order, times) = {
        let times: Vec<i128> = group.at.iter().map(|t| t.as_nanosecond()).collect();
        by_profile_and_time(&group.slots, &times)
    };
    let place = places(&order);
    drop(order);
    let at = scatter(&group.at, &place);
    drop(group.at);
    let numbers = scatter_by_key(group.numbers, &place);
    let strings = scatter_by_key(group.strings, &place);
    let loaded = LoadedRows {
        slots: &scatter(&group.slots, &place),
        names: &scatter(&group.names, &place),
        times: &times,
        numbers: &numbers,
        strings: &strings,
    };
    drop((group.slots, group.names, place));
    // A large load (against what is sealed) seals; a small one goes to the logs.
    let seal = store.should_seal(rows);
    let write = |store: &mut Store| {
        if seal {
            let mut pending = PendingSets::default();
            store.seal(&loaded, &at, &mut pending);
            pending
        } else {
            write_runs(store, &loaded, &at)
        }
    };
    // The two sides of the store are written at once: the profiles' events here, the day
    // buckets' blocks (which read only the rows) on another core.
    let (pending, blocks) = if rows >= ROWS_FOR_TWO_CORES && two_cores() {
        std::thread::scope(|scope| {
            let blocks = scope.spawn(|| day_blocks(&loaded));
            let pending = write(store);
            let blocks = blocks.join().expect("grouping rows does not panic");
            (pending, blocks)
        })
    } else {
        (write(store), day_blocks(&loaded))
    };
    store.index.append_day_blocks(blocks);
    pending.apply(&mut store.index);
}

/// Below this many rows, a second thread costs more than it saves.
const ROWS_FOR_TWO_CORES: usize = 1 << 15;

fn two_cores() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// Appends each profile's run of `rows` (in profile-and-time order; `at` their times) to its
/// log, totals and spans; returns the member-set changes to apply.
fn write_runs(store: &mut Store, rows: &LoadedRows<'_>, at: &[Timestamp]) -> PendingSets {
    let mut pending = PendingSets::default();
    let mut run: Vec<RunEvent> = Vec::new();
    let mut props: Vec<(u32, PropValue)> = Vec::new();
    for (from, to) in runs_of(rows.slots) {
        run.clear();
        props.clear();
        for (row, &when) in (from..to).zip(&at[from..to]) {
            row_props(rows, row, &mut props);
            run.push(RunEvent {
                name: rows.names[row],
                at: when,
                props_end: u32::try_from(props.len()).expect("fewer than 2^32 properties"),
            });
        }
        store.append_run(rows.slots[from], &run, &props, &mut pending);
    }
    pending
}

/// Each row's interned event name.
fn names_of(names: &[&str], ids: &HashMap<&str, u32>) -> Vec<u32> {
    let mut last: Option<(&str, u32)> = None;
    names
        .iter()
        .map(|&name| {
            let id = match last {
                Some((previous, id)) if previous == name => id,
                _ => ids[name],
            };
            last = Some((name, id));
            id
        })
        .collect()
}

/// Property columns moved to each row's `place`, in key id order, so that each row's
/// properties come out sorted.
fn scatter_by_key<T: Copy>(columns: Vec<(u32, Vec<T>)>, place: &[u32]) -> Vec<(u32, Vec<T>)> {
    let mut moved: Vec<(u32, Vec<T>)> = columns
        .into_iter()
        .map(|(key, column)| (key, scatter(&column, place)))
        .collect();
    moved.sort_by_key(|(k, _)| *k);
    moved
}

/// Where each row goes, given the rows in their new order.
fn places(order: &[u32]) -> Vec<u32> {
    let mut place = vec![0u32; order.len()];
    for (i, &row) in order.iter().enumerate() {
        place[row as usize] = i as u32;
    }
    place
}

/// The ranges of equal neighbours in `slots`: one profile's rows each.
fn runs_of(slots: &[u32]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let slot = *slots.get(from)?;
        let to = from + slots[from..].iter().take_while(|&&s| s == slot).count();
        let run = (from, to);
        from = to;
        Some(run)
    })
}

/// The rows ordered by slot (a counting sort: linear), then by time within a slot, ties in row
/// order — each profile's events together and in the order the store keeps them — and their
/// times in that order. The times are gathered into that order once and each profile's sorted
/// there: comparing them where they sit in the input cost a cache miss per comparison.
fn by_profile_and_time(slots: &[u32], times: &[i128]) -> (Vec<u32>, Vec<i128>) {
    let bound = slots.iter().max().map_or(0, |&s| s as usize + 1);
    let mut starts = vec![0u32; bound + 1];
    for &slot in slots {
        starts[slot as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut order = vec![0u32; slots.len()];
    let mut next = starts.clone();
    for (row, &slot) in slots.iter().enumerate() {
        let at = &mut next[slot as usize];
        order[*at as usize] = row as u32;
        *at += 1;
    }
    drop(next);
    let mut sorted: Vec<i128> = order.iter().map(|&row| times[row as usize]).collect();
    let mut pairs: Vec<(i128, u32)> = Vec::new();
    for w in starts.windows(2) {
        let (from, to) = (w[0] as usize, w[1] as usize);
        if to - from > 1 && !sorted[from..to].is_sorted() {
            pairs.clear();
            pairs.extend(
                sorted[from..to]
                    .iter()
                    .copied()
                    .zip(order[from..to].iter().copied()),
            );
            // Stable: ties keep row order.
            pairs.sort_by_key(|&(t, _)| t);
            for (k, &(t, row)) in pairs.iter().enumerate() {
                (sorted[from + k], order[from + k]) = (t, row);
            }
        }
    }
    (order, sorted)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use crate::ingest::{EventColumns, PropertyColumn};
    use crate::{Audience, Event};

    /// Groups follow what is sealed; a live audience (as a durable one) writes row by row, so
    /// a caller gathers nothing for it.
    #[test]
    fn group_size_follows_the_audience() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut audience = Audience::new();
        assert_eq!(audience.event_load_rows(), super::MIN_GROUP_ROWS);
        let ids: Vec<String> = (0..400).map(|i| format!("p{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let times = vec![now; 400];
        let columns = EventColumns {
            ids: &ids,
            names: &["visit"; 400],
            times: &times,
            properties: &[],
        };
        audience.load_events(&columns).unwrap();
        assert_eq!(audience.event_load_rows(), 100);
        audience.start_live(now).unwrap();
        assert_eq!(audience.event_load_rows(), 0);
        assert_eq!(audience.load_events(&columns), Ok(400));
        let p = audience.predicate("did visit at least 2 times").unwrap();
        assert_eq!(audience.count(&p, now).unwrap(), 400);
    }

    /// Random batches (new and known profiles, two names, a number and a string property, a
    /// refused row) loaded through one load — written in groups, sealing and logging — leave
    /// what tracking every row one by one leaves; so does dropping the load unfinished.
    #[test]
    fn a_load_in_batches_is_tracking_row_by_row() {
        let mut rng = fastrand::Rng::with_seed(5);
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut one_by_one = Audience::new();
        let mut finished = Audience::new();
        let mut dropped = Audience::new();
        // Some sealed events first, so that later groups both seal and go to the logs.
        for audience in [&mut one_by_one, &mut finished, &mut dropped] {
            for i in 0..40 {
                let at = Timestamp::from_second(now.as_second() - i * 90_000).unwrap();
                audience
                    .track(
                        &format!("p{}", i % 7),
                        Event::new("buy", at).value("amount", 2.0),
                    )
                    .unwrap();
            }
        }
        let mut batches = Vec::new();
        // Groups are written at 48 rows and more; the last batches stay below that, for the
        // finish (or the drop) to write.
        for n in [30, 5, 70, 1, 12, 40, 30, 5, 70, 1, 12, 40, 3, 9] {
            let ids: Vec<String> = (0..n).map(|_| format!("p{}", rng.u32(0..25))).collect();
            let names: Vec<&str> = (0..n).map(|_| ["buy", "view"][rng.usize(0..2)]).collect();
            let times: Vec<Timestamp> = (0..n)
                .map(|_| {
                    let back = rng.i64(0..1_500) * 50_000 + rng.i64(0..3);
                    Timestamp::from_second(now.as_second() - back).unwrap()
                })
                .collect();
            let amounts: Vec<Option<f64>> = (0..n)
                .map(|_| rng.bool().then(|| f64::from(rng.u32(0..9)) / 4.0))
                .collect();
            let colours: Vec<Option<&str>> = (0..n)
                .map(|_| [None, Some("red"), Some("blue")][rng.usize(0..3)])
                .collect();
            batches.push((ids, names, times, amounts, colours));
        }
        // A NaN amount: that row and the rest of its batch are refused.
        batches[4].3[3] = Some(f64::NAN);
        let mut finishing = finished.event_load();
        let mut dropping = dropped.event_load();
        for (ids, names, times, amounts, colours) in &batches {
            let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let properties = [
                ("amount", PropertyColumn::Numbers(amounts)),
                ("colour", PropertyColumn::Strings(colours)),
            ];
            let columns = EventColumns {
                ids: &id_refs,
                names,
                times,
                properties: &properties,
            };
            let taken = finishing.add(&columns);
            assert_eq!(dropping.add(&columns), taken);
            let good = taken.unwrap_or_else(|e| e.row);
            for (row, id) in ids.iter().enumerate().take(good) {
                one_by_one.track(id, columns.event(row)).unwrap();
            }
        }
        finishing.finish();
        drop(dropping);
        for audience in [&finished, &dropped] {
            for i in 0..25 {
                let id = format!("p{i}");
                assert_eq!(audience.profile(&id), one_by_one.profile(&id), "{id}");
            }
            for text in [
                "sum(buy.amount) > 3",
                "did view at least 3 times in last 365d",
                "last(buy) before 500d ago",
                "did buy at least 2 times in last 90d",
                "did view where colour == \"red\"",
            ] {
                let p = audience.predicate(text).unwrap();
                assert_eq!(
                    audience.member_slots(&p, now).unwrap(),
                    audience.member_slots_by_reference(&p, now).unwrap(),
                    "{text}"
                );
                let q = one_by_one.predicate(text).unwrap();
                assert_eq!(
                    audience.members(&p, now).unwrap(),
                    one_by_one.members(&q, now).unwrap(),
                    "{text}"
                );
            }
        }
    }
}
