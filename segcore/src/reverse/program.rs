//! The catalog compiled for one profile at a time: every distinct leaf condition once (by its
//! canonical text), each segment a tree over leaf ids, and a memo so that a leaf shared by a
//! thousand segments is evaluated once per profile, and a referred segment once.

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::language::Predicate;
use crate::reference::Reference;

use super::values::{Check, Sources};

/// One node of a definition over shared leaves. Nodes live in one arena, children before
/// their parent, so a segment's nodes sit together in memory: a profile's candidates are
/// scattered over the catalog, and each costs one cache miss rather than one per node.
#[derive(Debug, Clone, Copy)]
enum Node {
    Leaf(u32),
    Segment(u32),
    /// Children are `kids[start..start + len]` (node indices).
    And {
        start: u32,
        len: u32,
    },
    Or {
        start: u32,
        len: u32,
    },
    Not(u32),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Program {
    leaves: Vec<Predicate>,
    /// For `did` and aggregate leaves, their shared source and own test (`values.rs`).
    derived: Vec<Option<(u32, Check)>>,
    sources: Sources,
    leaf_ids: HashMap<String, u32>,
    nodes: Vec<Node>,
    kids: Vec<u32>,
    /// Each segment's root node.
    roots: Vec<u32>,
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

/// Per-profile answers: 0 unknown, 1 false, 2 true; the touched entries are cleared after
/// each profile, so a query costs what it touches, not the catalog's size.
#[derive(Debug, Default)]
pub(crate) struct Memo {
    leaves: Vec<u8>,
    segments: Vec<u8>,
    /// Source values: `None` until computed.
    values: Vec<Option<Option<f64>>>,
    touched_leaves: Vec<u32>,
    touched_segments: Vec<u32>,
    touched_values: Vec<u32>,
}

impl Memo {
    pub(crate) fn clear(&mut self) {
        for &l in &self.touched_leaves {
            self.leaves[l as usize] = 0;
        }
        for &s in &self.touched_segments {
            self.segments[s as usize] = 0;
        }
        for &v in &self.touched_values {
            self.values[v as usize] = None;
        }
        self.touched_leaves.clear();
        self.touched_segments.clear();
        self.touched_values.clear();
    }
}

impl Program {
    /// Every segment of `catalog`, ids in name order.
    pub(crate) fn compile(catalog: &Catalog) -> Program {
        let mut program = Program::default();
        for (id, name) in catalog.names().enumerate() {
            program.names.push(name.to_owned());
            program.ids.insert(name.to_owned(), id as u32);
        }
        for (_, p) in catalog.iter() {
            let root = program.node(p);
            program.roots.push(root);
        }
        program
    }

    /// Adds `p`'s nodes (children first) and returns the index of its root.
    fn node(&mut self, p: &Predicate) -> u32 {
        let node = match p {
            Predicate::And(parts) | Predicate::Or(parts) => {
                let children: Vec<u32> = parts.iter().map(|q| self.node(q)).collect();
                let start = self.kids.len() as u32;
                self.kids.extend(&children);
                let len = children.len() as u32;
                if matches!(p, Predicate::And(_)) {
                    Node::And { start, len }
                } else {
                    Node::Or { start, len }
                }
            }
            Predicate::Not(inner) => Node::Not(self.node(inner)),
            Predicate::Segment(name) => match self.ids.get(name) {
                Some(&id) => Node::Segment(id),
                // Validation keeps references to defined segments; an unknown one matches
                // nobody, as in the reference.
                None => Node::Or { start: 0, len: 0 },
            },
            leaf => {
                let next = self.leaves.len() as u32;
                let id = *self.leaf_ids.entry(leaf.to_string()).or_insert(next);
                if id == next {
                    self.derived.push(self.sources.split(leaf));
                    self.leaves.push(leaf.clone());
                }
                Node::Leaf(id)
            }
        };
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    pub(crate) fn len(&self) -> usize {
        self.roots.len()
    }

    /// Approximate heap bytes of the compiled catalog (leaves counted by their text's length).
    pub(crate) fn bytes(&self) -> usize {
        let names: usize = self.names.iter().map(|n| 2 * n.len() + 64).sum();
        let leaves: usize = self.leaf_ids.keys().map(|k| 2 * k.len() + 96).sum();
        names
            + leaves
            + self.nodes.capacity() * size_of::<Node>()
            + (self.kids.capacity() + self.roots.capacity()) * 4
    }

    pub(crate) fn leaf_count(&self) -> usize {
        self.leaves.len()
    }

    pub(crate) fn id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// Sizes the memo for this program.
    pub(crate) fn fit(&self, memo: &mut Memo) {
        memo.clear();
        memo.leaves.resize(self.leaves.len(), 0);
        memo.segments.resize(self.roots.len(), 0);
        memo.values.resize(self.sources.len(), None);
    }

    /// Whether the profile in `slot` is in segment `id`, as the reference decides.
    pub(crate) fn matches(
        &self,
        id: u32,
        slot: u32,
        reference: &Reference<'_>,
        memo: &mut Memo,
    ) -> bool {
        let s = id as usize;
        match memo.segments[s] {
            1 => false,
            2 => true,
            _ => {
                let answer = self.eval(self.roots[s], slot, reference, memo);
                memo.segments[s] = 1 + u8::from(answer);
                memo.touched_segments.push(id);
                answer
            }
        }
    }

    /// A source's value for `slot`, computed once per profile.
    fn value(
        &self,
        source: u32,
        slot: u32,
        reference: &Reference<'_>,
        memo: &mut Memo,
    ) -> Option<f64> {
        let v = source as usize;
        if let Some(known) = memo.values[v] {
            return known;
        }
        let value = self.sources.value(source, slot, reference);
        memo.values[v] = Some(value);
        memo.touched_values.push(source);
        value
    }

    fn eval(&self, node: u32, slot: u32, reference: &Reference<'_>, memo: &mut Memo) -> bool {
        match self.nodes[node as usize] {
            Node::Leaf(l) => {
                let i = l as usize;
                match memo.leaves[i] {
                    1 => false,
                    2 => true,
                    _ => {
                        let answer = match &self.derived[i] {
                            Some((source, check)) if reference.record(slot).is_some() => {
                                let value = self.value(*source, slot, reference, memo);
                                check.passes(value, reference)
                            }
                            _ => reference.matches(&self.leaves[i], slot),
                        };
                        memo.leaves[i] = 1 + u8::from(answer);
                        memo.touched_leaves.push(l);
                        answer
                    }
                }
            }
            Node::Segment(id) => self.matches(id, slot, reference, memo),
            Node::And { start, len } => self.kids[start as usize..(start + len) as usize]
                .iter()
                .all(|&n| self.eval(n, slot, reference, memo)),
            Node::Or { start, len } => self.kids[start as usize..(start + len) as usize]
                .iter()
                .any(|&n| self.eval(n, slot, reference, memo)),
            Node::Not(inner) => !self.eval(inner, slot, reference, memo),
        }
    }
}
