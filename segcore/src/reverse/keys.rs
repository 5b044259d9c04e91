//! Necessary keys: for a segment, sets of simple facts about a profile (an attribute value,
//! a held tag, a granted channel, an event ever done) such that every member has at least one
//! fact of each set. They are derived from the definition alone, so they hold at every `now`.

use crate::catalog::Catalog;
use crate::language::{CmpOp, Literal, Predicate, Test};
use crate::reference::Reference;
use crate::schema::Schema;
use crate::value::AttrType;

/// One fact a profile can have, looked up by value in the posting lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Key {
    /// A string attribute's value, or an element of a list attribute.
    Text { attribute: String, value: String },
    /// A number attribute's value (bits of the number, with -0 as 0).
    Number { attribute: String, bits: u64 },
    /// A bool attribute's value.
    Bool { attribute: String, value: bool },
    /// A held tag.
    Tag(String),
    /// A held tag of this namespace (`a` and `a:b` both hold for `a:b:c`).
    Namespace(String),
    /// The channel's latest decision grants consent.
    Consent(String),
    /// The profile has an event of this name (at any time).
    Did(String),
}

/// The bits a number key is looked up by: equal numbers (0 and -0 included) have equal bits.
pub(crate) fn number_bits(x: f64) -> u64 {
    if x == 0.0 {
        0
    } else {
        x.to_bits()
    }
}

/// A conjunction of disjunctions: every member has a key of every set. An empty set means no
/// profile can be a member.
pub(crate) type Slots = Vec<Vec<Key>>;

/// Derives necessary keys through `segment` references.
pub(crate) struct Necessary<'a> {
    pub catalog: &'a Catalog,
    pub schema: &'a Schema,
    /// Evaluates event conditions for a profile with no events.
    pub reference: &'a Reference<'a>,
}

impl Necessary<'_> {
    pub(crate) fn slots(&self, p: &Predicate) -> Slots {
        match p {
            Predicate::And(parts) => parts.iter().flat_map(|q| self.slots(q)).collect(),
            // Each part's smallest set; a part without one makes the whole `or` unguarded.
            Predicate::Or(parts) => {
                let mut union = Vec::new();
                for q in parts {
                    match self.slots(q).into_iter().min_by_key(Vec::len) {
                        Some(best) => union.extend(best),
                        None => return Vec::new(),
                    }
                }
                union.sort();
                union.dedup();
                vec![union]
            }
            Predicate::Not(_) | Predicate::Near(_) => Vec::new(),
            Predicate::Attribute { name, test } => self.attribute(name, test),
            Predicate::Tag { tag, .. } => vec![vec![tag_key(tag)]],
            Predicate::TagAny(tags) => vec![tags.iter().map(|t| tag_key(t)).collect()],
            Predicate::TagAll(tags) => tags.iter().map(|t| vec![tag_key(t)]).collect(),
            Predicate::Consent(channel) => vec![vec![Key::Consent(channel.clone())]],
            Predicate::Event { event, .. }
            | Predicate::Aggregate { event, .. }
            | Predicate::Occurrence { event, .. } => {
                if self.reference.holds_without_events(p) {
                    Vec::new()
                } else {
                    vec![vec![Key::Did(event.clone())]]
                }
            }
            Predicate::Segment(name) => {
                self.catalog.get(name).map_or(Vec::new(), |q| self.slots(q))
            }
        }
    }

    /// Whether `p` holds exactly when every one of its key sets is hit: a conjunction (or a
    /// single condition) of value, tag and consent tests, each of which its keys answer
    /// exactly. Such a segment needs no evaluation once its keys are counted.
    pub(crate) fn exact(&self, p: &Predicate) -> bool {
        match p {
            Predicate::And(parts) => parts.iter().all(|q| self.exact_leaf(q)),
            leaf => self.exact_leaf(leaf),
        }
    }

    fn exact_leaf(&self, p: &Predicate) -> bool {
        match p {
            Predicate::Attribute { name, test } => {
                let is_list = self.schema.attribute(name) == Some(AttrType::List);
                let keyed = |l: &Literal| match l {
                    Literal::String(_) => !is_list,
                    Literal::Number(_) | Literal::Bool(_) => true,
                    Literal::Time(_) => false,
                };
                match test {
                    Test::Cmp {
                        op: CmpOp::Eq,
                        value,
                    } => keyed(value),
                    Test::In(items) => items.iter().all(keyed),
                    Test::Contains(pattern) => is_list && !pattern.ignore_case,
                    Test::ContainsAny(_) => is_list,
                    // `contains all []` holds for any list but not for a missing one: no key
                    // says the attribute is present.
                    Test::ContainsAll(wanted) => is_list && !wanted.is_empty(),
                    _ => false,
                }
            }
            Predicate::Tag { within: None, .. }
            | Predicate::TagAny(_)
            | Predicate::TagAll(_)
            | Predicate::Consent(_) => true,
            _ => false,
        }
    }

    fn attribute(&self, name: &str, test: &Test) -> Slots {
        let is_list = self.schema.attribute(name) == Some(AttrType::List);
        let value = |l: &Literal| -> Option<Key> {
            let attribute = name.to_owned();
            match l {
                Literal::String(s) if !is_list => Some(Key::Text {
                    attribute,
                    value: s.clone(),
                }),
                Literal::Number(x) => Some(Key::Number {
                    attribute,
                    bits: number_bits(*x),
                }),
                Literal::Bool(b) => Some(Key::Bool {
                    attribute,
                    value: *b,
                }),
                _ => None,
            }
        };
        let item = |s: &str| Key::Text {
            attribute: name.to_owned(),
            value: s.to_owned(),
        };
        match test {
            Test::Cmp {
                op: CmpOp::Eq,
                value: l,
            } => value(l).map_or(Vec::new(), |k| vec![vec![k]]),
            // Every literal must give a key, or a value matching an unkeyed one is missed.
            Test::In(items) => items
                .iter()
                .map(value)
                .collect::<Option<Vec<Key>>>()
                .map_or(Vec::new(), |keys| vec![keys]),
            Test::Contains(p) if is_list && !p.ignore_case => vec![vec![item(&p.value)]],
            Test::ContainsAny(wanted) if is_list => vec![wanted.iter().map(|s| item(s)).collect()],
            Test::ContainsAll(wanted) if is_list => wanted.iter().map(|s| vec![item(s)]).collect(),
            _ => Vec::new(),
        }
    }
}

fn tag_key(pattern: &str) -> Key {
    match pattern.strip_suffix(":*") {
        Some(ns) => Key::Namespace(ns.to_owned()),
        None => Key::Tag(pattern.to_owned()),
    }
}
