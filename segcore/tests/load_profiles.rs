//! `load_profiles` (profiles as columns) leaves what `upsert_tagged` of each row leaves, and
//! its answers are the reference evaluator's: rows that create profiles are written a column
//! at a time, the rest (known ids, an id twice, coordinates) one by one.

mod common;

use common::{
    audience_strategy, days_from_now, declare_schema, define_segments, id, now, seconds_from_now,
    valid_predicate,
};
use proptest::prelude::*;
use segcore::ingest::ProfileColumns;
use segcore::{AttrType, Audience, Value};

fn declared() -> Audience {
    let mut a = Audience::new();
    declare_schema(&mut a);
    define_segments(&mut a);
    a
}

/// The columns as owned values, by attribute name.
type Columns = Vec<(&'static str, Vec<Option<Value>>)>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn profile_columns_load_as_upserts(
        (specs, _) in audience_strategy(),
        known in 0usize..3,
        twice in any::<bool>(),
        located in any::<bool>(),
        predicate in valid_predicate(),
    ) {
        let mut ids: Vec<String> = (0..specs.len()).map(id).collect();
        if twice && ids.len() > 2 {
            ids[1] = ids[ids.len() - 1].clone();
        }
        let mut columns: Columns = vec![
            ("age", specs.iter().map(|s| s.age.map(Value::from)).collect()),
            ("country", specs.iter().map(|s| s.country.map(Value::from)).collect()),
            ("newsletter", specs.iter().map(|s| s.newsletter.map(Value::from)).collect()),
            (
                "interests",
                specs.iter().map(|s| s.interests.clone().map(Value::from)).collect(),
            ),
            (
                "signed_up_at",
                specs
                    .iter()
                    .map(|s| s.signed_up.map(|d| Value::from(seconds_from_now(d))))
                    .collect(),
            ),
        ];
        if located {
            columns.push((
                "latitude",
                specs.iter().map(|s| s.location.map(|l| Value::from(l.0))).collect(),
            ));
        }
        let tags: Vec<Option<Value>> = specs
            .iter()
            .map(|s| {
                let held: Vec<String> = s.tags.iter().map(|(t, _)| (*t).to_owned()).collect();
                (!held.is_empty()).then_some(Value::List(held))
            })
            .collect();
        let tagged_at = days_from_now(-3);
        let mut bulk = declared();
        let mut one_by_one = declared();
        // The last `known` profiles exist before the load: their rows are updates.
        for a in [&mut bulk, &mut one_by_one] {
            for known_id in &ids[specs.len().saturating_sub(known)..] {
                a.upsert(known_id, [("age", Value::from(99.0))]).unwrap();
            }
        }
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let attributes: Vec<(&str, &[Option<Value>])> =
            columns.iter().map(|(n, c)| (*n, c.as_slice())).collect();
        let loaded = bulk.load_profiles(&ProfileColumns {
            ids: &id_refs,
            attributes: &attributes,
            tags: Some(&tags),
            tagged_at,
        });
        prop_assert_eq!(loaded, Ok(ids.len()));
        for (row, id) in ids.iter().enumerate() {
            let values = columns
                .iter()
                .filter_map(|(n, c)| c[row].clone().map(|v| (*n, v)));
            let held: Vec<String> = match &tags[row] {
                Some(Value::List(held)) => held.clone(),
                _ => Vec::new(),
            };
            one_by_one.upsert_tagged(id, values, &held, tagged_at).unwrap();
        }
        prop_assert_eq!(bulk.to_bytes(), one_by_one.to_bytes());
        let slots = bulk.member_slots(&predicate, now()).unwrap();
        prop_assert_eq!(
            &slots,
            &bulk.member_slots_by_reference(&predicate, now()).unwrap(),
            "{}", predicate
        );
        prop_assert_eq!(slots, one_by_one.member_slots(&predicate, now()).unwrap());
    }
}

/// A refused row stops the load there with the error its upsert gives, the rows before it
/// loaded; the schema is declared by the first value of each new column.
#[test]
fn a_refused_row_stops_the_load_with_its_upserts_error() {
    let ages = [
        Some(Value::Number(30.0)),
        None,
        Some(Value::from("old")),
        Some(Value::Number(5.0)),
    ];
    let mut bulk = Audience::new();
    let mut one_by_one = Audience::new();
    let ids = ["a", "b", "c", "d"];
    let error = bulk
        .load_profiles(&ProfileColumns {
            ids: &ids,
            attributes: &[("age", &ages)],
            tags: None,
            tagged_at: now(),
        })
        .unwrap_err();
    assert_eq!(error.row, 2);
    let expected = (0..3)
        .map(|row| {
            let values = ages[row].clone().map(|v| ("age", v));
            one_by_one.upsert(ids[row], values)
        })
        .find_map(Result::err)
        .unwrap();
    assert_eq!(error.error, expected);
    assert_eq!(bulk.to_bytes(), one_by_one.to_bytes());
    assert!(bulk.schema().attributes().eq([("age", AttrType::Number)]));
    // Columns of different lengths: nothing is loaded.
    let short = [None];
    let error = bulk
        .load_profiles(&ProfileColumns {
            ids: &["e", "f"],
            attributes: &[("age", &short)],
            tags: None,
            tagged_at: now(),
        })
        .unwrap_err();
    assert_eq!((error.row, error.error.kind()), (0, "invalid_value"));
    assert_eq!(bulk.len(), 2);
}
