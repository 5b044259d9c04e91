//! `Audience::load_events`: the bulk twin of `track` must leave the audience exactly as tracking
//! the same rows one by one would, refuse the same rows with the same errors, and keep the
//! rows before a refused one.

use jiff::Timestamp;
use proptest::prelude::*;
use segcore::ingest::{EventColumns, PropertyColumn, RowError};
use segcore::{Audience, Error, Event};

/// Owned columns, borrowed as [`EventColumns`].
#[derive(Debug, Clone)]
struct Table {
    ids: Vec<String>,
    names: Vec<String>,
    times: Vec<Timestamp>,
    amounts: Vec<Option<f64>>,
    skus: Vec<Option<String>>,
}

impl Table {
    fn load(&self, audience: &mut Audience) -> Result<usize, RowError> {
        let ids: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let skus: Vec<Option<&str>> = self.skus.iter().map(|s| s.as_deref()).collect();
        let properties = [
            ("amount", PropertyColumn::Numbers(&self.amounts)),
            ("sku", PropertyColumn::Strings(&skus)),
        ];
        audience.load_events(&EventColumns {
            ids: &ids,
            names: &names,
            times: &self.times,
            properties: &properties,
        })
    }

    fn event(&self, row: usize) -> Event {
        let mut e = Event::new(self.names[row].as_str(), self.times[row]);
        if let Some(x) = self.amounts[row] {
            e = e.value("amount", x);
        }
        if let Some(s) = &self.skus[row] {
            e = e.property("sku", s.as_str());
        }
        e
    }

    /// Tracks the rows one by one, up to the first refused one.
    fn track(&self, audience: &mut Audience) -> Result<usize, RowError> {
        for row in 0..self.ids.len() {
            audience
                .track(&self.ids[row], self.event(row))
                .map_err(|error| RowError { row, error })?;
        }
        Ok(self.ids.len())
    }
}

fn now() -> Timestamp {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

fn table() -> impl Strategy<Value = Table> {
    let row = (
        0..12usize,
        prop::sample::select(vec!["purchase", "page_view", "refund"]),
        // Three years before now, with many ties.
        0..2_000i64,
        prop::option::of(prop::sample::select(vec![1.0, 0.1, 1e17, -1e17, 3.5])),
        prop::option::of(prop::sample::select(vec!["A", "B", "C"])),
    );
    prop::collection::vec(row, 0..200).prop_map(|rows| {
        let mut t = Table {
            ids: vec![],
            names: vec![],
            times: vec![],
            amounts: vec![],
            skus: vec![],
        };
        for (id, name, ago, amount, sku) in rows {
            t.ids.push(format!("p{id}"));
            t.names.push(name.to_owned());
            t.times
                .push(Timestamp::from_second(now().as_second() - ago * 50_000).unwrap());
            // Page views carry no amount, so their schema never gets one.
            t.amounts.push(amount.filter(|_| name != "page_view"));
            t.skus.push(sku.map(str::to_owned));
        }
        t
    })
}

const QUESTIONS: &[&str] = &[
    "sum(purchase.amount) > 0",
    "sum(purchase.amount in last 365d) > 1",
    "avg(refund.amount) >= 1",
    "did purchase at least 2 times in last 90d",
    "did purchase where sku == \"A\"",
    "last(purchase) before 400d ago",
    "min(purchase.amount in last 30d) < 1",
];

/// The same audience, seen from outside: every profile, the schema, and the answers.
fn assert_same(bulk: &Audience, one_by_one: &Audience) {
    assert_eq!(bulk.len(), one_by_one.len());
    assert_eq!(bulk.schema(), one_by_one.schema());
    let ids = (0..12)
        .map(|i| format!("p{i}"))
        .chain(["a", "b", "c"].map(String::from));
    for id in ids {
        assert_eq!(bulk.profile(&id), one_by_one.profile(&id), "{id}");
    }
    for text in QUESTIONS {
        let (Ok(p), Ok(q)) = (bulk.predicate(text), one_by_one.predicate(text)) else {
            assert_eq!(
                bulk.predicate(text).is_ok(),
                one_by_one.predicate(text).is_ok()
            );
            continue;
        };
        let members = bulk.member_slots(&p, now()).unwrap();
        assert_eq!(
            members,
            bulk.member_slots_by_reference(&p, now()).unwrap(),
            "{text}"
        );
        assert_eq!(
            bulk.members(&p, now()).unwrap(),
            one_by_one.members(&q, now()).unwrap(),
            "{text}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Loading columns gives what tracking the rows one by one gives, into an empty audience
    /// and into one that already holds events (so loaded events arrive late).
    #[test]
    fn columns_load_as_tracking_does(first in table(), second in table()) {
        let (mut bulk, mut one_by_one) = (Audience::new(), Audience::new());
        prop_assert_eq!(first.load(&mut bulk), first.track(&mut one_by_one));
        prop_assert_eq!(second.load(&mut bulk), second.track(&mut one_by_one));
        assert_same(&bulk, &one_by_one);
    }

    /// The same with events tracked one by one and a profile erased between loads, and loads
    /// of every size against what the audience holds (a large one seals every profile's
    /// events with its rows, a small one goes to the profiles' own logs).
    #[test]
    fn loads_tracks_and_erasures_mix(
        tables in prop::collection::vec(table(), 1..5),
        tracked in table(),
        erased in 0..12usize,
    ) {
        let (mut bulk, mut one_by_one) = (Audience::new(), Audience::new());
        for (i, t) in tables.iter().enumerate() {
            prop_assert_eq!(t.load(&mut bulk), t.track(&mut one_by_one));
            if i == 0 {
                let few = Table {
                    ids: tracked.ids.iter().take(20).cloned().collect(),
                    ..tracked.clone()
                };
                prop_assert_eq!(few.track(&mut bulk), few.track(&mut one_by_one));
                let id = format!("p{erased}");
                prop_assert_eq!(bulk.erase(&id).is_ok(), one_by_one.erase(&id).is_ok());
            }
        }
        assert_same(&bulk, &one_by_one);
    }
}

#[test]
fn a_refused_row_keeps_the_rows_before_it_and_says_what_track_says() {
    let t = now();
    let mut table = Table {
        ids: vec!["a".into(), "b".into(), "".into(), "c".into()],
        names: vec!["purchase".into(); 4],
        times: vec![t; 4],
        amounts: vec![Some(1.0); 4],
        skus: vec![None; 4],
    };
    let (mut bulk, mut one_by_one) = (Audience::new(), Audience::new());
    let refused = table.load(&mut bulk).unwrap_err();
    assert_eq!(refused.row, 2);
    assert_eq!(Err(refused.clone()), table.track(&mut one_by_one));
    assert_eq!(
        refused.to_string(),
        "row 2: invalid value: a profile id may not be empty"
    );
    assert_same(&bulk, &one_by_one);

    // A type the schema refuses, a NaN, a time out of range: each refused at its row.
    let mut strings = Audience::new();
    strings
        .track("x", Event::new("purchase", t).property("amount", "12"))
        .unwrap();
    table.ids[2] = "z".into();
    let refused = table.load(&mut strings).unwrap_err();
    assert_eq!(refused.row, 0);
    assert!(matches!(refused.error, Error::Schema { .. }), "{refused}");
    assert_eq!(strings.len(), 1);

    table.amounts[1] = Some(f64::NAN);
    let mut nan = Audience::new();
    assert_eq!(table.load(&mut nan).unwrap_err().row, 1);
    assert_eq!(nan.len(), 1);
}

#[test]
fn columns_of_different_lengths_are_refused_whole() {
    let times = [now()];
    let columns = EventColumns {
        ids: &["a", "b"],
        names: &["purchase", "purchase"],
        times: &times,
        properties: &[],
    };
    let mut audience = Audience::new();
    let refused = audience.load_events(&columns).unwrap_err();
    assert_eq!(refused.row, 0);
    assert_eq!(
        refused.error.to_string(),
        "invalid value: the columns differ in length: ids has 2 rows, times has 1"
    );
    assert!(audience.is_empty());
}

#[test]
fn a_property_given_twice_is_refused() {
    let times = [now()];
    let one = [Some(1.0)];
    let columns = EventColumns {
        ids: &["a"],
        names: &["purchase"],
        times: &times,
        properties: &[
            ("amount", PropertyColumn::Numbers(&one)),
            ("amount", PropertyColumn::Numbers(&one)),
        ],
    };
    let refused = Audience::new().load_events(&columns).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "row 0: invalid value: event `purchase` has property `amount` twice"
    );
}

/// A durable audience journals each loaded row: reopened, it holds them all.
#[test]
fn a_durable_audience_keeps_loaded_rows() {
    let dir = std::env::temp_dir().join(format!("segcore-load-columns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let t = now();
    let table = Table {
        ids: vec!["a".into(), "b".into(), "a".into()],
        names: vec!["purchase".into(); 3],
        times: vec![t, t, t - jiff::SignedDuration::from_hours(5)],
        amounts: vec![Some(1.0), None, Some(2.0)],
        skus: vec![Some("A".into()), None, None],
    };
    let mut memory = Audience::new();
    table.load(&mut memory).unwrap();
    {
        let mut durable = Audience::open(&dir).unwrap();
        assert_eq!(table.load(&mut durable), Ok(3));
        assert_same(&durable, &memory);
    }
    let reopened = Audience::open(&dir).unwrap();
    assert_same(&reopened, &memory);
    drop(reopened);
    std::fs::remove_dir_all(&dir).unwrap();
}
