//! Attribute values as stored: 16 bytes a value, by slot, one column per attribute. Strings and
//! lists are held once per distinct value in reference-counted pools — a country code, a plan,
//! a list of interests repeat across millions of profiles — and a pooled value is freed when
//! its last holder lets go, so erasing a profile forgets its unique strings (an email) too.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

use hashbrown::{DefaultHashBuilder, HashTable};
use jiff::Timestamp;

use crate::store::Interner;
use crate::value::Value;

/// One stored value. Times keep jiff's parts side by side so the whole fits in 16 bytes.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Str(u32),
    Num(f64),
    Bool(bool),
    Time { second: i64, nanosecond: i32 },
    List(u32),
}

/// A stored value as readers see it, borrowed from the pools.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttrRef<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Time(Timestamp),
    List(&'a [String]),
}

impl AttrRef<'_> {
    /// The public value (copies strings).
    pub(crate) fn to_value(self) -> Value {
        match self {
            AttrRef::Str(s) => Value::String(s.to_owned()),
            AttrRef::Num(x) => Value::Number(x),
            AttrRef::Bool(b) => Value::Bool(b),
            AttrRef::Time(t) => Value::Timestamp(t),
            AttrRef::List(items) => Value::List(items.to_vec()),
        }
    }
}

/// Values held once each, with a count of holders; ids of freed values are reused.
#[derive(Debug, Clone)]
struct Pool<T> {
    items: Vec<Option<(T, u32)>>,
    free: Vec<u32>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool {
            items: Vec::new(),
            free: Vec::new(),
            table: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl<T: Hash + Eq> Pool<T> {
    fn get(&self, id: u32) -> &T {
        &self.items[id as usize]
            .as_ref()
            .expect("a held id is in the pool")
            .0
    }

    /// The id of `value`, one more holder of it.
    fn acquire<Q>(&mut self, value: &Q) -> u32
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized + ToOwnedAs<T>,
    {
        let hash = self.hasher.hash_one(value);
        let items = &self.items;
        if let Some(&id) = self.table.find(hash, |&id| {
            items[id as usize]
                .as_ref()
                .is_some_and(|(v, _)| v.borrow() == value)
        }) {
            let held = self.items[id as usize]
                .as_mut()
                .expect("found ids are held");
            held.1 = held.1.saturating_add(1);
            return id;
        }
        let entry = Some((value.to_owned_as(), 1));
        let id = match self.free.pop() {
            Some(id) => {
                self.items[id as usize] = entry;
                id
            }
            None => {
                self.items.push(entry);
                u32::try_from(self.items.len() - 1).expect("fewer than 2^32 distinct values")
            }
        };
        let (items, hasher) = (&self.items, &self.hasher);
        self.table.insert_unique(hash, id, |&id| {
            hasher.hash_one(&items[id as usize].as_ref().expect("held").0)
        });
        id
    }

    /// One holder fewer of `id`; the last one frees it.
    fn release(&mut self, id: u32) {
        let held = self.items[id as usize]
            .as_mut()
            .expect("a held id is in the pool");
        held.1 -= 1;
        if held.1 > 0 {
            return;
        }
        let hash = self.hasher.hash_one(&held.0);
        if let Ok(entry) = self.table.find_entry(hash, |&other| other == id) {
            entry.remove();
        }
        self.items[id as usize] = None;
        self.free.push(id);
    }
}

/// An owned pool value from a borrowed one.
trait ToOwnedAs<T> {
    fn to_owned_as(&self) -> T;
}

impl ToOwnedAs<Box<str>> for str {
    fn to_owned_as(&self) -> Box<str> {
        self.into()
    }
}

impl ToOwnedAs<Box<[String]>> for [String] {
    fn to_owned_as(&self) -> Box<[String]> {
        self.into()
    }
}

/// Every attribute's column, and the pools their strings and lists live in.
#[derive(Debug, Clone, Default)]
pub(crate) struct Columns {
    names: Interner,
    cells: Vec<Vec<Option<Cell>>>,
    strings: Pool<Box<str>>,
    lists: Pool<Box<[String]>>,
}

/// One attribute's values by slot.
#[derive(Clone, Copy)]
pub(crate) struct ColumnRef<'a> {
    cells: &'a [Option<Cell>],
    columns: &'a Columns,
}

impl<'a> ColumnRef<'a> {
    pub(crate) fn get(&self, slot: u32) -> Option<AttrRef<'a>> {
        let cell = (*self.cells.get(slot as usize)?)?;
        Some(self.columns.read(cell))
    }
}

impl Columns {
    fn read(&self, cell: Cell) -> AttrRef<'_> {
        match cell {
            Cell::Str(id) => AttrRef::Str(self.strings.get(id)),
            Cell::Num(x) => AttrRef::Num(x),
            Cell::Bool(b) => AttrRef::Bool(b),
            Cell::Time { second, nanosecond } => AttrRef::Time(
                Timestamp::new(second, nanosecond).expect("stored from a valid timestamp"),
            ),
            Cell::List(id) => AttrRef::List(self.lists.get(id)),
        }
    }

    /// The values of attribute `name` (empty if never written).
    pub(crate) fn column(&self, name: &str) -> ColumnRef<'_> {
        let cells = self
            .names
            .get(name)
            .map_or(&[][..], |c| self.cells[c as usize].as_slice());
        ColumnRef {
            cells,
            columns: self,
        }
    }

    pub(crate) fn get(&self, slot: u32, name: &str) -> Option<AttrRef<'_>> {
        self.column(name).get(slot)
    }

    /// Sets (or, with `None`, clears) `slot`'s value of `name`; returns the value it had.
    pub(crate) fn set(&mut self, slot: u32, name: &str, value: Option<&Value>) -> Option<Value> {
        let column = self.names.intern(name) as usize;
        if column == self.cells.len() {
            self.cells.push(Vec::new());
        }
        if self.cells[column].len() <= slot as usize {
            // Nothing to clear past the column's end.
            value?;
            self.cells[column].resize(slot as usize + 1, None);
        }
        let new = value.map(|v| self.store(v));
        let old = std::mem::replace(&mut self.cells[column][slot as usize], new)?;
        let value = self.read(old).to_value();
        self.forget(old);
        Some(value)
    }

    /// Clears every value of `slot`, returning them by attribute name.
    pub(crate) fn take_all(&mut self, slot: u32) -> Vec<(&str, Value)> {
        let mut taken = Vec::new();
        for c in 0..self.cells.len() {
            if let Some(old) = self.cells[c].get_mut(slot as usize).and_then(Option::take) {
                taken.push((c, self.read(old).to_value()));
                self.forget(old);
            }
        }
        taken
            .into_iter()
            .map(|(c, v)| (self.names.name(c as u32), v))
            .collect()
    }

    /// Every value `slot` holds, by attribute name.
    pub(crate) fn all(&self, slot: u32) -> impl Iterator<Item = (&str, AttrRef<'_>)> {
        self.cells.iter().enumerate().filter_map(move |(c, cells)| {
            let cell = (*cells.get(slot as usize)?)?;
            Some((self.names.name(c as u32), self.read(cell)))
        })
    }

    fn store(&mut self, value: &Value) -> Cell {
        match value {
            Value::String(s) => Cell::Str(self.strings.acquire(s.as_str())),
            Value::Number(x) => Cell::Num(*x),
            Value::Bool(b) => Cell::Bool(*b),
            Value::Timestamp(t) => Cell::Time {
                second: t.as_second(),
                nanosecond: t.subsec_nanosecond(),
            },
            Value::List(items) => Cell::List(self.lists.acquire(items.as_slice())),
        }
    }

    fn forget(&mut self, cell: Cell) {
        match cell {
            Cell::Str(id) => self.strings.release(id),
            Cell::List(id) => self.lists.release(id),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Option<Cell>>(), 16);
    }

    #[test]
    fn pooled_strings_are_shared_and_freed_with_their_last_holder() {
        let mut c = Columns::default();
        c.set(0, "country", Some(&Value::from("SE")));
        c.set(1, "country", Some(&Value::from("SE")));
        c.set(2, "email", Some(&Value::from("a@x.se")));
        assert_eq!(c.strings.table.len(), 2);
        assert_eq!(
            c.set(0, "country", Some(&Value::from("DK"))),
            Some(Value::from("SE"))
        );
        assert_eq!(c.take_all(2), vec![("email", Value::from("a@x.se"))]);
        // "a@x.se" is gone; "SE" (held by slot 1) and "DK" remain.
        assert_eq!(c.strings.table.len(), 2);
        assert!(matches!(c.get(1, "country"), Some(AttrRef::Str("SE"))));
        assert!(c.get(2, "email").is_none());
        // A freed id is reused.
        c.set(3, "email", Some(&Value::from("b@x.se")));
        assert_eq!(c.strings.items.len(), 3);
    }

    #[test]
    fn every_kind_reads_back() {
        let mut c = Columns::default();
        let t: Timestamp = "2024-03-01T12:00:00.123456789Z".parse().unwrap();
        let values = [
            Value::from("x"),
            Value::Number(-0.0),
            Value::Bool(true),
            Value::Timestamp(t),
            Value::List(vec!["a".into(), "b".into()]),
        ];
        for (i, v) in values.iter().enumerate() {
            c.set(7, &format!("a{i}"), Some(v));
        }
        let back: Vec<Value> = c.all(7).map(|(_, v)| v.to_value()).collect();
        assert_eq!(back, values);
    }
}
