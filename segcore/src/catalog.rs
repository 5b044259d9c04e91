//! The catalog of named segments: define, replace, remove, with references kept acyclic.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::error::{Error, NameKind, Result};
use crate::language::Predicate;
use crate::suggest::nearest;

/// The deepest a segment may nest once the segments it refers to are counted in: its own
/// `and` / `or` / `not` levels plus, for each `segment` reference, one level and the
/// referred segment's own expanded depth. Evaluation walks references recursively, so this
/// bounds the stack it needs whatever the catalog holds (chains of references included).
pub const MAX_EXPANDED_DEPTH: usize = 128;

/// Named predicates. Names are unique; references between segments never form a cycle, and
/// no segment nests deeper than [`MAX_EXPANDED_DEPTH`] with its references counted in.
///
/// Each segment also knows which segments refer to it and its expanded depth, so that
/// defining or removing one costs what its own references and dependants cost, not the size
/// of the catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    segments: BTreeMap<String, Predicate>,
    /// For each segment referred to, the segments whose definitions name it.
    used_by: BTreeMap<String, BTreeSet<String>>,
    /// Each segment's depth with its references counted in.
    depths: HashMap<String, usize>,
}

impl PartialEq for Catalog {
    fn eq(&self, other: &Self) -> bool {
        // `used_by` is derived from `segments`.
        self.segments == other.segments
    }
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

    /// Segments with their predicates, sorted by name.
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

    /// The segments whose definitions refer to `name`, sorted.
    pub fn used_by(&self, name: &str) -> impl Iterator<Item = &str> {
        self.used_by
            .get(name)
            .into_iter()
            .flatten()
            .map(String::as_str)
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
    #[cfg(test)]
    pub(crate) fn define(&mut self, name: &str, predicate: Predicate) -> Result<()> {
        let depths = self.check_define(name, &predicate)?;
        self.define_checked(name, predicate, depths);
        Ok(())
    }

    /// What [`Catalog::define`] would refuse, without changing anything; on success, the
    /// expanded depths that [`Catalog::define_checked`] records.
    pub(crate) fn check_define(
        &self,
        name: &str,
        predicate: &Predicate,
    ) -> Result<Vec<(String, usize)>> {
        // A new name cannot be referred to yet, so only a replacement can close a cycle.
        let replacing = self.segments.contains_key(name);
        if replacing || predicate.segment_references().contains(&name) {
            if let Some(path) = self.cycle_through(name, predicate) {
                return Err(Error::Cycle { path });
            }
        }
        let too_deep = Error::TooDeep {
            limit: MAX_EXPANDED_DEPTH,
        };
        let mut depths = vec![(name.to_owned(), self.expanded_depth(predicate, None))];
        if depths[0].1 > MAX_EXPANDED_DEPTH {
            return Err(too_deep);
        }
        if replacing {
            depths.extend(self.dependants_depths(name, depths[0].1));
            if depths.iter().any(|(_, d)| *d > MAX_EXPANDED_DEPTH) {
                return Err(too_deep);
            }
        }
        Ok(depths)
    }

    /// Adds or replaces `name` once [`Catalog::check_define`] has passed it.
    pub(crate) fn define_checked(
        &mut self,
        name: &str,
        predicate: Predicate,
        depths: Vec<(String, usize)>,
    ) {
        self.depths.extend(depths);
        if let Some(old) = self.segments.remove(name) {
            self.forget_references(name, &old);
        }
        for target in predicate.segment_references() {
            self.used_by
                .entry(target.to_owned())
                .or_default()
                .insert(name.to_owned());
        }
        self.segments.insert(name.to_owned(), predicate);
    }

    /// What [`Catalog::remove`] would refuse, without changing anything.
    pub(crate) fn check_remove(&self, name: &str) -> Result<()> {
        if !self.segments.contains_key(name) {
            return Err(self.unknown(name));
        }
        let used_by: Vec<String> = self.used_by(name).map(str::to_owned).collect();
        if !used_by.is_empty() {
            return Err(Error::SegmentInUse {
                segment: name.to_owned(),
                used_by,
            });
        }
        Ok(())
    }

    /// Removes `name`, unless other segments refer to it.
    pub(crate) fn remove(&mut self, name: &str) -> Result<Predicate> {
        self.check_remove(name)?;
        let Some(old) = self.segments.remove(name) else {
            return Err(self.unknown(name));
        };
        self.forget_references(name, &old);
        self.depths.remove(name);
        Ok(old)
    }

    /// How deep `p` nests with references counted in; `changed` overrides the stored depths
    /// of segments being redefined.
    fn expanded_depth(&self, p: &Predicate, changed: Option<&HashMap<&str, usize>>) -> usize {
        match p {
            Predicate::And(parts) | Predicate::Or(parts) => {
                1 + parts
                    .iter()
                    .map(|q| self.expanded_depth(q, changed))
                    .max()
                    .unwrap_or(0)
            }
            Predicate::Not(inner) => 1 + self.expanded_depth(inner, changed),
            Predicate::Segment(name) => {
                let known = changed.and_then(|c| c.get(name.as_str()).copied());
                1 + known.unwrap_or_else(|| self.depths.get(name).copied().unwrap_or(1))
            }
            _ => 1,
        }
    }

    /// The new expanded depths of every segment that depends on `name`, directly or not, were
    /// `name`'s to become `depth`: each computed once, after the segments it refers to.
    fn dependants_depths(&self, name: &str, depth: usize) -> Vec<(String, usize)> {
        // The dependants, found through `used_by`...
        let mut found: HashSet<&str> = HashSet::new();
        let mut stack = vec![name];
        while let Some(next) = stack.pop() {
            for user in self.used_by(next) {
                if found.insert(user) {
                    stack.push(user);
                }
            }
        }
        // ...and for each, how many of the segments it refers to are `name` or dependants
        // themselves: those are computed first.
        let mut dependants: HashMap<&str, usize> = found
            .iter()
            .map(|&user| {
                let refs: HashSet<&str> = self
                    .segments
                    .get(user)
                    .map(|p| p.segment_references().into_iter().collect())
                    .unwrap_or_default();
                let waiting = refs
                    .iter()
                    .filter(|r| **r == name || found.contains(*r))
                    .count();
                (user, waiting)
            })
            .collect();
        let mut changed: HashMap<&str, usize> = HashMap::from([(name, depth)]);
        let mut ready = vec![name];
        let mut out = Vec::new();
        while let Some(done) = ready.pop() {
            for user in self.used_by(done) {
                let Some(waiting) = dependants.get_mut(user) else {
                    continue;
                };
                *waiting = waiting.saturating_sub(1);
                if *waiting == 0 {
                    let d = self
                        .segments
                        .get(user)
                        .map_or(1, |p| self.expanded_depth(p, Some(&changed)));
                    changed.insert(user, d);
                    out.push((user.to_owned(), d));
                    ready.push(user);
                }
            }
        }
        out
    }

    /// Drops `name` from the `used_by` sets of the segments `definition` refers to.
    fn forget_references(&mut self, name: &str, definition: &Predicate) {
        for target in definition.segment_references() {
            if let Some(users) = self.used_by.get_mut(target) {
                users.remove(name);
                if users.is_empty() {
                    self.used_by.remove(target);
                }
            }
        }
    }

    /// If `name` defined as `predicate` would reach itself, the path `name -> … -> name`.
    /// Each segment is visited at most once.
    fn cycle_through(&self, name: &str, predicate: &Predicate) -> Option<Vec<String>> {
        let mut path = vec![name.to_owned()];
        if self.reaches(name, predicate, &mut path, &mut HashSet::new()) {
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
        seen: &mut HashSet<&'a str>,
    ) -> bool {
        for next in predicate.segment_references() {
            path.push(next.to_owned());
            if next == target {
                return true;
            }
            if seen.insert(next) {
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
