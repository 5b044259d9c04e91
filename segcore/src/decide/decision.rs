//! A decision as written (rules, variants, default, holdout) and as checked against an
//! audience: every rule's segment known or predicate valid, every variant named, every
//! template compiled, the holdout share within [0, 1].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::template::{Escape, Template};
use crate::error::{Error, NameKind, Result};
use crate::language::Predicate;
use crate::suggest::nearest;
use crate::Audience;

/// A named decision: which variant of a message, offer or layout each profile gets.
///
/// Rules are tried in order; the first whose segment (or inline predicate) holds picks its
/// variant; no rule holding gives the default. A holdout share sends that fraction of
/// profiles, drawn by a fixed hash of the decision's name and the profile's id, to the default
/// as a control group.
///
/// Its JSON form (what the bindings take):
///
/// ```json
/// {
///   "rules": [
///     {"segment": "vips", "variant": "fast"},
///     {"when": "did purchase in last 30d", "variant": "safe"}
///   ],
///   "default": "generic",
///   "holdout": 0.1,
///   "variants": {
///     "fast": {"payload": {"layout": "express"}, "template": "Hej {{ first_name | default(\"där\") }}!"},
///     "safe": {"payload": {"layout": "classic"}},
///     "generic": {}
///   },
///   "escape": "html"
/// }
/// ```
///
/// `escape` (`"none"` by default, or `"html"`) says how the templates escape what they show:
/// a decision whose messages go into a web page must say `"html"`, so that a first name of
/// `<script>` is shown rather than run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Tried in order.
    pub rules: Vec<Rule>,
    /// The variant when no rule holds, and for the holdout.
    pub default: String,
    /// The share of profiles held out as a control group, in [0, 1].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub holdout: f64,
    /// The variants by name.
    pub variants: BTreeMap<String, Variant>,
    /// How the variants' templates escape the values they show: `"none"` (plain text, the
    /// default) or `"html"` (for messages put into a page or an HTML e-mail).
    #[serde(default, skip_serializing_if = "Escape::is_none")]
    pub escape: Escape,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// One rule: a segment name or an inline predicate (exactly one), and the variant it picks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A segment of the catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// A predicate in text form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The variant this rule picks.
    pub variant: String,
}

/// What a variant carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Anything the caller wants back: a message, an offer, a layout.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub payload: serde_json::Value,
    /// A message template rendered with the profile's fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl Decision {
    /// Reads the JSON form; structure errors are [`Error::Json`] with line and column.
    pub fn from_json(json: &str) -> Result<Decision> {
        serde_json::from_str(json).map_err(|e| Error::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a decision serializes")
    }
}

/// A rule's condition, checked.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub predicate: Predicate,
    pub variant: String,
}

/// A decision checked against an audience, ready to decide.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub spec: Decision,
    pub rules: Vec<Checked>,
    pub templates: BTreeMap<String, Template>,
}

impl Compiled {
    pub(crate) fn new(audience: &Audience, spec: Decision) -> Result<Compiled> {
        if !(0.0..=1.0).contains(&spec.holdout) {
            return Err(Error::InvalidValue(format!(
                "a holdout share is between 0 and 1, not {}",
                spec.holdout
            )));
        }
        let variant = |name: &str| -> Result<()> {
            if spec.variants.contains_key(name) {
                return Ok(());
            }
            Err(Error::UnknownName {
                kind: NameKind::Variant,
                name: name.to_owned(),
                suggestion: nearest(name, spec.variants.keys().map(String::as_str)),
            })
        };
        variant(&spec.default)?;
        let mut rules = Vec::with_capacity(spec.rules.len());
        for rule in &spec.rules {
            variant(&rule.variant)?;
            let predicate = match (&rule.segment, &rule.when) {
                (Some(name), None) => {
                    if audience.catalog.get(name).is_none() {
                        return Err(audience.catalog.unknown(name));
                    }
                    Predicate::segment(name)
                }
                (None, Some(text)) => audience.predicate(text)?,
                _ => {
                    return Err(Error::InvalidValue(format!(
                        "a rule for variant `{}` needs exactly one of `segment` and `when`",
                        rule.variant
                    )))
                }
            };
            rules.push(Checked {
                predicate,
                variant: rule.variant.clone(),
            });
        }
        let mut templates = BTreeMap::new();
        for (name, v) in &spec.variants {
            if let Some(text) = &v.template {
                templates.insert(name.clone(), Template::with_escape(text, spec.escape)?);
            }
        }
        Ok(Compiled {
            spec,
            rules,
            templates,
        })
    }

    /// The segments this decision's rules name, directly or inside an inline predicate.
    pub(crate) fn segments(&self) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .flat_map(|r| r.predicate.segment_references())
    }
}
