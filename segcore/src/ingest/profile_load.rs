//! Profiles as columns — a table of customers — loaded as many [`Audience::upsert_tagged`]s
//! would load them, row by row in meaning; but the rows that create new profiles in an
//! audience that neither journals nor notifies are written a column at a time, each value's
//! members added to the index as one sorted run (one by one, an age added its profile to every
//! range-encoded set above it: 1.6 s of the 5.9 s a load of 1M profiles and 10M events took
//! from Python, 2026-12-03).

use hashbrown::HashSet;

use jiff::Timestamp;

use super::columns::RowError;
use crate::audience::{check_tag, Audience};
use crate::error::Error;
use crate::limits::check_instant;
use crate::schema::check_name;
use crate::value::{AttrType, Value};

/// Profiles as columns of equal length: row `i` is profile `ids[i]`, with the value each
/// attribute column holds in that row (`None`: no value, nothing is removed) and the tags of
/// `tags`.
///
/// ```
/// use segcore::ingest::ProfileColumns;
/// use segcore::{Audience, Value};
///
/// let ages = [Some(Value::Number(36.0)), None];
/// let countries = [Some(Value::from("SE")), Some(Value::from("DE"))];
/// let tags = [Some(Value::List(vec!["vip".into()])), None];
/// let mut audience = Audience::new();
/// let loaded = audience.load_profiles(&ProfileColumns {
///     ids: &["ada", "bo"],
///     attributes: &[("age", &ages), ("country", &countries)],
///     tags: Some(&tags),
///     tagged_at: "2026-03-01T00:00:00Z".parse()?,
/// })?;
/// assert_eq!(loaded, 2);
/// let now = "2026-03-02T00:00:00Z".parse()?;
/// let vips = audience.predicate(r#"tag "vip" and age > 30"#)?;
/// assert_eq!(audience.members(&vips, now)?, ["ada"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ProfileColumns<'a> {
    /// Each row's profile id; a new id creates its profile.
    pub ids: &'a [&'a str],
    /// Attribute columns by name.
    pub attributes: &'a [(&'a str, &'a [Option<Value>])],
    /// Each row's tags: a list of tags, or one tag as a string; `None` for none.
    pub tags: Option<&'a [Option<Value>]>,
    /// When the tags are added.
    pub tagged_at: Timestamp,
}

impl<'a> ProfileColumns<'a> {
    /// The number of rows, or what is wrong with the columns' lengths.
    fn rows(&self) -> Result<usize, Error> {
        let rows = self.ids.len();
        let mut lengths: Vec<(&str, usize)> = self
            .attributes
            .iter()
            .map(|(name, column)| (*name, column.len()))
            .collect();
        if let Some(tags) = self.tags {
            lengths.push(("tags", tags.len()));
        }
        match lengths.iter().find(|(_, n)| *n != rows) {
            Some((column, n)) => Err(Error::InvalidValue(format!(
                "the columns differ in length: ids has {rows} rows, {column} has {n}"
            ))),
            None => Ok(rows),
        }
    }

    /// Row `row`'s tags.
    fn tags_of(&self, row: usize) -> Result<&'a [String], Error> {
        match self.tags.and_then(|tags| tags[row].as_ref()) {
            Some(Value::List(held)) => Ok(held),
            Some(Value::String(one)) => Ok(std::slice::from_ref(one)),
            Some(_) => Err(Error::InvalidValue(
                "the tags column holds lists of tags".to_owned(),
            )),
            None => Ok(&[]),
        }
    }
}

impl Audience {
    /// Loads profiles given as columns (see [`ProfileColumns`]): each row as
    /// [`Audience::upsert_tagged`] with the row's present values and tags, with the same checks
    /// and the same result. Returns the number of rows loaded: all of them, or a [`RowError`]
    /// naming the first refused row (the rows before it are loaded).
    ///
    /// Rows that create profiles, in an audience that is neither durable nor live, are written
    /// a column at a time; the others (updates of known profiles, an id twice, coordinates)
    /// one by one.
    pub fn load_profiles(&mut self, columns: &ProfileColumns<'_>) -> Result<usize, RowError> {
        let rows = columns.rows().map_err(|error| RowError { row: 0, error })?;
        let bulk = self.new_profile_rows(columns, rows);
        if bulk > 0 {
            self.write_new_profiles(columns, bulk);
        }
        for row in bulk..rows {
            let at_row = |error| RowError { row, error };
            let tags = columns.tags_of(row).map_err(at_row)?;
            let values = columns
                .attributes
                .iter()
                .filter_map(|(name, column)| column[row].clone().map(|v| (*name, v)));
            self.upsert_tagged(columns.ids[row], values, tags, columns.tagged_at)
                .map_err(at_row)?;
        }
        Ok(rows)
    }

    /// How many leading rows can be written a column at a time: rows that create a profile and
    /// that `upsert_tagged` would surely take. The first row in doubt, and every row after it,
    /// goes through `upsert_tagged` itself, which gives the row its exact answer.
    fn new_profile_rows<'a>(&self, columns: &ProfileColumns<'a>, rows: usize) -> usize {
        let names: Vec<&str> = columns.attributes.iter().map(|(name, _)| *name).collect();
        let special = |name: &str| {
            name == crate::geo::LATITUDE
                || name == crate::geo::LONGITUDE
                || name == super::MERGED_IDS
                || check_name(name, "an attribute name").is_err()
        };
        let twice = names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n));
        if self.writes_one_by_one()
            || twice
            || names.iter().any(|n| special(n))
            || check_instant(columns.tagged_at, "the tags' time").is_err()
        {
            return 0;
        }
        // Each column's type: the schema's, else its first value's (the type the first row
        // with a value declares).
        let types: Vec<Option<AttrType>> = columns
            .attributes
            .iter()
            .map(|(name, column)| {
                let first = column.iter().flatten().next()?.attr_type();
                self.schema
                    .check_attribute(name, first)
                    .is_ok()
                    .then_some(first)
            })
            .collect();
        let mut seen: HashSet<&'a str> = HashSet::with_capacity(rows);
        for (row, &id) in columns.ids[..rows].iter().enumerate() {
            let values_fit = columns
                .attributes
                .iter()
                .zip(&types)
                .all(|((name, column), ty)| {
                    column[row].as_ref().is_none_or(|value| {
                        Some(value.attr_type()) == *ty && value.check(name).is_ok()
                    })
                });
            let surely_taken = values_fit
                && check_name(id, "a profile id").is_ok()
                && self.store.slot(id).is_none()
                && seen.insert(id)
                && columns
                    .tags_of(row)
                    .is_ok_and(|tags| tags.iter().all(|t| check_tag(t).is_ok()));
            if !surely_taken {
                return row;
            }
        }
        rows
    }

    /// Writes the first `rows` rows, which [`Audience::new_profile_rows`] passed: profiles
    /// created in row order, then each attribute column, then the tags.
    fn write_new_profiles(&mut self, columns: &ProfileColumns<'_>, rows: usize) {
        let slots: Vec<u32> = columns.ids[..rows]
            .iter()
            .map(|id| self.store.slot_or_create(id).0)
            .collect();
        for (name, column) in columns.attributes {
            let pairs: Vec<(u32, &Value)> = slots
                .iter()
                .zip(&column[..rows])
                .filter_map(|(&slot, value)| Some((slot, value.as_ref()?)))
                .collect();
            let Some(&(_, first)) = pairs.first() else {
                continue;
            };
            self.schema
                .declare_attribute(name, first.attr_type())
                .expect("checked: a name and a type the schema takes");
            self.store.set_new_attribute(name, &pairs);
        }
        for (row, &slot) in slots.iter().enumerate() {
            for tag in columns.tags_of(row).expect("checked: lists of tags") {
                if let Some((namespace, _)) = tag.split_once(':') {
                    self.schema
                        .declare_tag_namespace(namespace)
                        .expect("checked: a valid tag");
                }
                self.store.add_tag(slot, tag, columns.tagged_at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::ProfileColumns;
    use crate::{Audience, Value};

    /// Columns of many profiles — numbers with few distinct values (range-encoded), with more
    /// than the range-encoding limit (coarse buckets), past the value limit (continuous), and
    /// strings past it (unindexed) — answer as row-by-row upserts do and as the reference
    /// does, loaded in two batches so the second adds to indexes the first built.
    #[test]
    fn columns_index_as_upserts_do() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut rng = fastrand::Rng::with_seed(3);
        let n = 3_000;
        let ids: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let column = |rng: &mut fastrand::Rng, value: &dyn Fn(&mut fastrand::Rng) -> Value| {
            (0..n)
                .map(|_| (rng.u8(0..5) > 0).then(|| value(rng)))
                .collect::<Vec<Option<Value>>>()
        };
        let few = column(&mut rng, &|r| Value::Number(f64::from(r.u8(18..80))));
        let many = column(&mut rng, &|r| Value::Number(f64::from(r.u16(0..400)) / 4.0));
        let unique = column(&mut rng, &|r| Value::Number(r.f64() * 1e4));
        let codes = column(&mut rng, &|r| Value::from(format!("c{}", r.u16(0..9))));
        let emails = column(&mut rng, &|r| Value::from(format!("{}@x", r.u64(..))));
        let flags = column(&mut rng, &|r| Value::Bool(r.bool()));
        let lists = column(&mut rng, &|r| {
            Value::List(
                (0..r.u8(0..3))
                    .map(|i| format!("i{}", i + r.u8(0..2)))
                    .collect(),
            )
        });
        let times = column(&mut rng, &|r| {
            Value::Timestamp(Timestamp::from_second(1_700_000_000 + r.i64(0..9_000_000)).unwrap())
        });
        let attributes: Vec<(&str, &[Option<Value>])> = vec![
            ("age", &few),
            ("score", &many),
            ("spend", &unique),
            ("code", &codes),
            ("email", &emails),
            ("member", &flags),
            ("interests", &lists),
            ("signed_up", &times),
        ];
        for value_limit in [4, 0] {
            let mut bulk = Audience::new();
            bulk.store.index.value_limit = value_limit;
            let mut one_by_one = Audience::new();
            one_by_one.store.index.value_limit = value_limit;
            for (from, to) in [(0, n / 3), (n / 3, n)] {
                let part: Vec<(&str, &[Option<Value>])> = attributes
                    .iter()
                    .map(|(name, column)| (*name, &column[from..to]))
                    .collect();
                let columns = ProfileColumns {
                    ids: &ids[from..to],
                    attributes: &part,
                    tags: None,
                    tagged_at: now,
                };
                assert_eq!(bulk.load_profiles(&columns), Ok(to - from));
                for row in from..to {
                    let values = attributes
                        .iter()
                        .filter_map(|(name, column)| column[row].clone().map(|v| (*name, v)));
                    one_by_one.upsert(ids[row], values).unwrap();
                }
            }
            for text in [
                "age < 30",
                "age <= 30",
                "age > 61",
                "age >= 61 and age != 70",
                "age == 44",
                "score < 20.25",
                "score >= 80",
                "score == 12.5",
                "spend > 5000",
                "spend <= 100",
                "code == \"c3\"",
                "code != \"c3\"",
                "email exists",
                "email == \"7@x\"",
                "member == true",
                "interests contains \"i1\"",
                "signed_up before @2024-01-01",
                "signed_up after @2023-12-01T12:00:00Z",
            ] {
                let p = bulk.predicate(text).unwrap();
                let slots = bulk.member_slots(&p, now).unwrap();
                assert_eq!(
                    slots,
                    bulk.member_slots_by_reference(&p, now).unwrap(),
                    "{text}"
                );
                assert_eq!(slots, one_by_one.member_slots(&p, now).unwrap(), "{text}");
                assert!(
                    !slots.is_empty() || text.contains("=="),
                    "{text} matches someone"
                );
            }
            assert_eq!(bulk.to_bytes(), one_by_one.to_bytes());
        }
    }
}
