//! The decisions half of the [`Audience`] facade: define, decide one profile, assign everyone.

use std::collections::BTreeMap;

use croaring::Bitmap;
use jiff::Timestamp;

use super::decision::{Compiled, Decision};
use super::holdout::in_holdout;
use super::template::Template;
use crate::column::AttrRef;
use crate::error::{Error, NameKind, Result};
use crate::limits::check_instant;
use crate::matcher::Matcher;
use crate::reference::Reference;
use crate::schema::check_name;
use crate::suggest::nearest;
use crate::Audience;

/// Which part of a decision chose a profile's variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChosenBy {
    /// The rule at this index (from 0) held first.
    Rule(usize),
    /// No rule held.
    Default,
    /// The profile is in the holdout: it gets the default variant as a control.
    Holdout,
}

impl ChosenBy {
    /// `rule`, `default` or `holdout`, as the bindings spell it.
    pub fn name(self) -> &'static str {
        match self {
            ChosenBy::Rule(_) => "rule",
            ChosenBy::Default => "default",
            ChosenBy::Holdout => "holdout",
        }
    }

    /// The index of the rule that chose, if a rule did.
    pub fn rule(self) -> Option<usize> {
        match self {
            ChosenBy::Rule(i) => Some(i),
            _ => None,
        }
    }
}

/// One profile's outcome of a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// The decision's name.
    pub decision: String,
    /// The variant chosen.
    pub variant: String,
    /// The variant's payload (null when it has none).
    pub payload: serde_json::Value,
    /// What chose it.
    pub chosen_by: ChosenBy,
    /// The variant's template rendered for this profile, if it has one.
    pub message: Option<String>,
}

/// A whole audience's outcome of a decision: who gets which variant, and who is held out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Assignment {
    /// Every variant's members (ids in slot order); holdout profiles are not among them.
    pub variants: BTreeMap<String, Vec<String>>,
    /// The holdout (control) group: they get the default variant, and are listed here so that
    /// a send can leave them out.
    pub holdout: Vec<String>,
}

impl Audience {
    /// Defines (or replaces) a decision, after checking it: every rule's segment known (with a
    /// suggestion if not) or predicate valid, every variant it names defined, every template
    /// compiled, the holdout share within [0, 1]. On error nothing changes.
    ///
    /// ```
    /// use segcore::{Audience, ChosenBy, Decision};
    ///
    /// let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let mut audience = Audience::new();
    /// audience.upsert("ada", [("first_name", "Ada".into()), ("country", "SE".into())])?;
    /// audience.upsert("bob", [("country", "DK".into())])?;
    /// let decision = Decision::from_json(r#"{
    ///   "rules": [{"when": "country == \"SE\"", "variant": "swedish"}],
    ///   "default": "generic",
    ///   "variants": {
    ///     "swedish": {"payload": {"offer": "fika"}, "template": "Hej {{ first_name | default(\"där\") }}!"},
    ///     "generic": {"template": "Hello {{ first_name | default(\"there\") }}!"}
    ///   }
    /// }"#)?;
    /// audience.define_decision("greeting", decision)?;
    ///
    /// let ada = audience.decide("ada", "greeting", now)?;
    /// assert_eq!((ada.variant.as_str(), ada.chosen_by), ("swedish", ChosenBy::Rule(0)));
    /// assert_eq!(ada.payload["offer"], "fika");
    /// assert_eq!(ada.message.as_deref(), Some("Hej Ada!"));
    /// assert_eq!(audience.decide("bob", "greeting", now)?.message.as_deref(), Some("Hello there!"));
    ///
    /// let all = audience.assign("greeting", now)?;
    /// assert_eq!(all.variants["swedish"], ["ada"]);
    /// assert_eq!(all.variants["generic"], ["bob"]);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn define_decision(&mut self, name: &str, decision: Decision) -> Result<()> {
        check_name(name, "a decision name")?;
        let compiled = Compiled::new(self, decision)?;
        self.journal(|| crate::storage::Record::DefineDecision {
            name: name.to_owned(),
            json: compiled.spec.to_json(),
        })?;
        self.decisions.insert(name.to_owned(), compiled);
        Ok(())
    }

    /// Removes a decision and returns it.
    pub fn remove_decision(&mut self, name: &str) -> Result<Decision> {
        if !self.decisions.contains_key(name) {
            return Err(self.unknown_decision(name));
        }
        self.journal(|| crate::storage::Record::RemoveDecision {
            name: name.to_owned(),
        })?;
        let removed = self.decisions.remove(name).map(|c| c.spec);
        removed.ok_or_else(|| self.unknown_decision(name))
    }

    /// A decision as defined.
    pub fn decision(&self, name: &str) -> Option<&Decision> {
        self.decisions.get(name).map(|c| &c.spec)
    }

    /// The names of the defined decisions, sorted.
    pub fn decision_names(&self) -> impl Iterator<Item = &str> {
        self.decisions.keys().map(String::as_str)
    }

    /// The variant one profile gets at `now`, its payload, what chose it, and its message.
    pub fn decide(&self, id: &str, decision: &str, now: Timestamp) -> Result<Decided> {
        let compiled = self.compiled(decision)?;
        let slot = self.existing_slot(id)?;
        check_instant(now, "`now`")?;
        let spec = &compiled.spec;
        let (variant, chosen_by) = if in_holdout(decision, id, spec.holdout) {
            (spec.default.as_str(), ChosenBy::Holdout)
        } else {
            let reference = Reference::new(self, now);
            compiled
                .rules
                .iter()
                .position(|r| reference.matches(&r.predicate, slot))
                .map_or((spec.default.as_str(), ChosenBy::Default), |i| {
                    (compiled.rules[i].variant.as_str(), ChosenBy::Rule(i))
                })
        };
        let message = match compiled.templates.get(variant) {
            Some(t) => Some(t.render_json(&self.fields(slot))?),
            None => None,
        };
        Ok(Decided {
            decision: decision.to_owned(),
            variant: variant.to_owned(),
            payload: spec.variants[variant].payload.clone(),
            chosen_by,
            message,
        })
    }

    /// Every live profile's variant at `now`, as member lists for a send. Each rule's members
    /// come from the matcher as a set, so this costs a query per rule, not a decision per
    /// profile; the answers are [`Audience::decide`]'s.
    pub fn assign(&self, decision: &str, now: Timestamp) -> Result<Assignment> {
        let compiled = self.compiled(decision)?;
        check_instant(now, "`now`")?;
        let spec = &compiled.spec;
        let mut left = self.store.index.live.clone();
        let mut held = Bitmap::new();
        if spec.holdout > 0.0 {
            for slot in left.iter() {
                let id = self.store.record(slot).map_or("", |r| r.id());
                if in_holdout(decision, id, spec.holdout) {
                    held.add(slot);
                }
            }
            left -= &held;
        }
        let ids = |set: &Bitmap| -> Vec<String> {
            set.iter()
                .filter_map(|s| self.store.record(s).map(|r| r.id.to_string()))
                .collect()
        };
        let mut out = Assignment {
            variants: spec
                .variants
                .keys()
                .map(|v| (v.clone(), Vec::new()))
                .collect(),
            holdout: ids(&held),
        };
        let matcher = Matcher::new(self, now);
        let mut chosen: BTreeMap<&str, Bitmap> = BTreeMap::new();
        for rule in &compiled.rules {
            let members = matcher.run(&rule.predicate).0 & &left;
            left -= &members;
            *chosen.entry(rule.variant.as_str()).or_default() |= &members;
        }
        *chosen.entry(spec.default.as_str()).or_default() |= &left;
        for (variant, members) in chosen {
            out.variants.insert(variant.to_owned(), ids(&members));
        }
        Ok(out)
    }

    /// Renders a template with one profile's fields (see [`Audience::fields_of`]).
    pub fn render(&self, id: &str, template: &Template) -> Result<String> {
        let slot = self.existing_slot(id)?;
        template.render_json(&self.fields(slot))
    }

    /// The fields a template sees for a profile: its attributes by name (timestamps as
    /// RFC 3339 text), and — unless an attribute has that name — `id` and `tags`.
    pub fn fields_of(&self, id: &str) -> Result<serde_json::Value> {
        Ok(self.fields(self.existing_slot(id)?))
    }

    fn fields(&self, slot: u32) -> serde_json::Value {
        let mut fields = serde_json::Map::new();
        let Some(record) = self.store.record(slot) else {
            return fields.into();
        };
        for (name, value) in self.store.attributes_of(slot) {
            let json = match value {
                AttrRef::Str(s) => s.into(),
                AttrRef::Num(x) => {
                    serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, Into::into)
                }
                AttrRef::Bool(b) => b.into(),
                AttrRef::Time(t) => t.to_string().into(),
                AttrRef::List(items) => items.to_vec().into(),
            };
            fields.insert(name.to_owned(), json);
        }
        fields
            .entry("id")
            .or_insert_with(|| record.id.as_str().into());
        let tags: Vec<&str> = record
            .tags
            .iter()
            .map(|(t, _)| self.store.tag_names.name(*t))
            .collect();
        fields.entry("tags").or_insert_with(|| tags.into());
        fields.into()
    }

    fn compiled(&self, name: &str) -> Result<&Compiled> {
        self.decisions
            .get(name)
            .ok_or_else(|| self.unknown_decision(name))
    }

    fn unknown_decision(&self, name: &str) -> Error {
        Error::UnknownName {
            kind: NameKind::Decision,
            name: name.to_owned(),
            suggestion: nearest(name, self.decision_names()),
        }
    }

    /// The decisions whose rules refer to `segment`.
    pub(crate) fn decisions_using(&self, segment: &str) -> Vec<String> {
        self.decisions
            .iter()
            .filter(|(_, c)| c.segments().any(|s| s == segment))
            .map(|(name, _)| format!("decision {name}"))
            .collect()
    }
}
