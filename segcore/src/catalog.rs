//! The catalog of named segments: define, replace, remove, with references kept acyclic.

use std::collections::BTreeMap;

use crate::error::{Error, NameKind, Result};
use crate::language::Predicate;
use crate::suggest::nearest;

/// Named predicates. Names are unique; references between segments never form a cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    segments: BTreeMap<String, Predicate>,
}

impl Catalog {
    /// The predicate of a segment.
    pub fn get(&self, name: &str) -> Option<&Predicate> {
        self.segments.get(name)
    }

    /// Segment names in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.segments.keys().map(String::as_str)
    }

    /// Segments with their predicates, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Predicate)> {
        self.segments.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Whether there are no segments.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The error for an unknown segment name, with the nearest known one.
    pub(crate) fn unknown(&self, name: &str) -> Error {
        Error::UnknownName {
            kind: NameKind::Segment,
            name: name.to_owned(),
            suggestion: nearest(name, self.names()),
        }
    }

    /// Adds or replaces `name`. The caller has validated `predicate` (its references exist);
    /// this refuses a definition that would close a cycle, naming it, and changes nothing then.
    pub(crate) fn define(&mut self, name: &str, predicate: Predicate) -> Result<()> {
        if let Some(path) = self.cycle_through(name, &predicate) {
            return Err(Error::Cycle { path });
        }
        self.segments.insert(name.to_owned(), predicate);
        Ok(())
    }

    /// Removes `name`, unless other segments refer to it.
    pub(crate) fn remove(&mut self, name: &str) -> Result<Predicate> {
        if !self.segments.contains_key(name) {
            return Err(self.unknown(name));
        }
        let used_by: Vec<String> = self
            .segments
            .iter()
            .filter(|(other, p)| other.as_str() != name && p.segment_references().contains(&name))
            .map(|(other, _)| other.clone())
            .collect();
        if !used_by.is_empty() {
            return Err(Error::SegmentInUse {
                segment: name.to_owned(),
                used_by,
            });
        }
        Ok(self.segments.remove(name).expect("checked above"))
    }

    /// If `name` defined as `predicate` would reach itself, the path `name -> … -> name`.
    fn cycle_through(&self, name: &str, predicate: &Predicate) -> Option<Vec<String>> {
        let mut path = vec![name.to_owned()];
        if self.reaches(name, predicate, &mut path, &mut Vec::new()) {
            Some(path)
        } else {
            None
        }
    }

    fn reaches<'a>(
        &'a self,
        target: &str,
        predicate: &'a Predicate,
        path: &mut Vec<String>,
        seen: &mut Vec<&'a str>,
    ) -> bool {
        for next in predicate.segment_references() {
            path.push(next.to_owned());
            if next == target {
                return true;
            }
            if !seen.contains(&next) {
                seen.push(next);
                if let Some(p) = self.segments.get(next) {
                    if self.reaches(target, p, path, seen) {
                        return true;
                    }
                }
            }
            path.pop();
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_that_closes_a_cycle_is_refused_with_the_path() {
        let mut c = Catalog::default();
        c.define("a", Predicate::tag("x")).unwrap();
        c.define("b", Predicate::segment("a")).unwrap();
        c.define("c", Predicate::segment("b")).unwrap();
        let e = c.define("a", Predicate::segment("c")).unwrap_err();
        assert_eq!(
            e,
            Error::Cycle {
                path: vec!["a".into(), "c".into(), "b".into(), "a".into()]
            }
        );
        assert_eq!(c.get("a"), Some(&Predicate::tag("x")), "nothing changed");
        let e = c.define("self", Predicate::segment("self")).unwrap_err();
        assert_eq!(
            e,
            Error::Cycle {
                path: vec!["self".into(), "self".into()]
            }
        );
    }

    #[test]
    fn a_segment_in_use_is_not_removed() {
        let mut c = Catalog::default();
        c.define("base", Predicate::tag("x")).unwrap();
        c.define("user", Predicate::segment("base")).unwrap();
        assert_eq!(
            c.remove("base").unwrap_err(),
            Error::SegmentInUse {
                segment: "base".into(),
                used_by: vec!["user".into()]
            }
        );
        c.remove("user").unwrap();
        c.remove("base").unwrap();
        assert!(matches!(c.remove("base"), Err(Error::UnknownName { .. })));
    }
}
