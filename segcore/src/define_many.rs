//! Defining many segments at once (a segments file): what decides the order they go in, and
//! that they go in all together or not at all.
//!
//! Definitions may refer to each other in any order; they are defined so that each comes
//! after the segments it refers to. Every definition is first tried on a copy of the
//! audience's schema and catalog (no profiles): if any is refused, nothing is defined and the
//! refusal names the definition. Then all are defined as one batch — one journal fsync on a
//! durable audience, however many there are.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::language::Predicate;
use crate::Audience;

impl Audience {
    /// Defines (or redefines) every segment of `definitions`, in an order that lets them refer
    /// to each other, or none of them: on a refusal, the error comes with the index of the
    /// definition refused, and the audience is unchanged. A name given twice, or definitions
    /// that refer to each other in a circle, are refused too. On a durable audience the
    /// definitions are journaled as one batch, synced once. Returns the indexes of
    /// `definitions` in the order they were defined (each after those it refers to, the file's
    /// order otherwise).
    ///
    /// ```
    /// use segcore::{Audience, Predicate};
    /// let mut a = Audience::new();
    /// a.declare_attribute("plan", segcore::AttrType::String)?;
    /// let file = [
    ///     ("loyal_pros", Predicate::parse("segment pros and segment loyal")?),
    ///     ("pros", Predicate::parse(r#"plan == "pro""#)?),
    ///     ("loyal", Predicate::parse(r#"tag "loyal""#)?),
    /// ];
    /// a.define_segments(&file).map_err(|(_, e)| e)?;
    /// assert_eq!(a.catalog().len(), 3);
    ///
    /// let (index, e) = a
    ///     .define_segments(&[("ok", Predicate::parse("tag \"x\"")?), ("bad", Predicate::parse("plann exists")?)])
    ///     .unwrap_err();
    /// assert_eq!((index, e.kind()), (1, "unknown_name"));
    /// assert!(a.catalog().get("ok").is_none(), "all or nothing");
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn define_segments<S: AsRef<str>>(
        &mut self,
        definitions: &[(S, Predicate)],
    ) -> Result<Vec<usize>, (usize, Error)> {
        let order = order(definitions)?;
        // The trial: the same schema, catalog and decisions, without profiles.
        let mut trial =
            Audience::from_bytes(&self.image_of(None, |_| false)).map_err(|e| (0, e))?;
        for &i in &order {
            let (name, predicate) = &definitions[i];
            trial
                .define_segment(name.as_ref(), predicate.clone())
                .map_err(|e| (i, e))?;
        }
        let mut failed = None;
        let outcome = self.batch(|a| {
            for &i in &order {
                let (name, predicate) = &definitions[i];
                if let Err(e) = a.define_segment(name.as_ref(), predicate.clone()) {
                    failed = Some(i);
                    return Err(e);
                }
            }
            Ok(())
        });
        match outcome {
            Ok(((), commit)) => commit.wait().map(|()| order).map_err(|e| (0, e)),
            Err(e) => Err((failed.unwrap_or(0), e)),
        }
    }
}

/// The indexes of `definitions` in an order where each comes after the others it refers to.
fn order<S: AsRef<str>>(definitions: &[(S, Predicate)]) -> Result<Vec<usize>, (usize, Error)> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(definitions.len());
    for (i, (name, _)) in definitions.iter().enumerate() {
        if index.insert(name.as_ref(), i).is_some() {
            return Err((
                i,
                Error::InvalidValue(format!("segment `{}` is defined twice", name.as_ref())),
            ));
        }
    }
    // What each definition waits for: the other definitions it refers to.
    let waits_for: Vec<Vec<usize>> = definitions
        .iter()
        .enumerate()
        .map(|(i, (_, p))| {
            let mut deps: Vec<usize> = p
                .segment_references()
                .into_iter()
                .filter_map(|r| index.get(r).copied())
                .filter(|&j| j != i)
                .collect();
            deps.sort_unstable();
            deps.dedup();
            deps
        })
        .collect();
    let mut waiting: Vec<usize> = waits_for.iter().map(Vec::len).collect();
    let mut unblocks: Vec<Vec<usize>> = vec![Vec::new(); definitions.len()];
    for (i, deps) in waits_for.iter().enumerate() {
        for &d in deps {
            unblocks[d].push(i);
        }
    }
    // Kahn's algorithm, taking ready definitions in file order.
    let mut ready: std::collections::BTreeSet<usize> = (0..definitions.len())
        .filter(|&i| waiting[i] == 0)
        .collect();
    let mut out = Vec::with_capacity(definitions.len());
    while let Some(i) = ready.pop_first() {
        out.push(i);
        for &next in &unblocks[i] {
            waiting[next] -= 1;
            if waiting[next] == 0 {
                ready.insert(next);
            }
        }
    }
    if out.len() == definitions.len() {
        return Ok(out);
    }
    // What is left refers round in a circle: walk it from the first left to name it.
    let start = (0..definitions.len())
        .find(|&i| waiting[i] > 0)
        .unwrap_or_default();
    let mut path = vec![start];
    let mut at = start;
    while let Some(&next) = waits_for[at].iter().find(|&&d| waiting[d] > 0) {
        if let Some(from) = path.iter().position(|&p| p == next) {
            let mut names: Vec<String> = path[from..]
                .iter()
                .map(|&p| definitions[p].0.as_ref().to_owned())
                .collect();
            names.push(definitions[next].0.as_ref().to_owned());
            return Err((next, Error::Cycle { path: names }));
        }
        path.push(next);
        at = next;
    }
    Err((
        start,
        Error::Cycle {
            path: vec![definitions[start].0.as_ref().to_owned()],
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Predicate {
        Predicate::parse(text).unwrap()
    }

    #[test]
    fn forward_references_are_ordered_and_circles_named() {
        let defs = [
            ("c", p("segment b")),
            ("b", p("segment a")),
            ("a", p("tag \"x\"")),
        ];
        assert_eq!(order(&defs).unwrap(), [2, 1, 0]);
        let circle = [
            ("a", p("segment b")),
            ("b", p("segment c")),
            ("c", p("segment a")),
            ("d", p("tag \"x\"")),
        ];
        let (_, e) = order(&circle).unwrap_err();
        assert_eq!(e.to_string(), "segment reference cycle: a -> b -> c -> a");
        let twice = [("a", p("tag \"x\"")), ("a", p("tag \"y\""))];
        assert_eq!(order(&twice).unwrap_err().0, 1);
    }

    #[test]
    fn a_refusal_defines_nothing() {
        let mut a = Audience::new();
        a.define_segment("old", p("tag \"x\"")).unwrap();
        let (i, e) = a
            .define_segments(&[
                ("new", p("segment old")),
                ("old", p("segment new")),
                ("fine", p("tag \"y\"")),
            ])
            .unwrap_err();
        assert_eq!((i, e.kind()), (0, "cycle"), "{e}");
        assert_eq!(a.catalog().len(), 1);
        assert_eq!(a.catalog().get("old").unwrap().to_string(), "tag \"x\"");
    }
}
