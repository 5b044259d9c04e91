//! Where a visitor came from: a campaign from `context.campaign`, or from the UTM parameters
//! of the page URL, kept as first-touch and last-touch attributes.

use jiff::Timestamp;
use serde_json::{Map, Value as Json};

use crate::audience::Audience;
use crate::value::Value;
use crate::write::Write;

/// The campaign fields, in the order of their attribute names' suffixes.
const FIELDS: [&str; 5] = ["source", "medium", "campaign", "term", "content"];

/// The attribute prefix of the earliest campaign seen.
pub const FIRST_TOUCH: &str = "first_touch_";
/// The attribute prefix of the latest campaign seen.
pub const LAST_TOUCH: &str = "last_touch_";

/// The attribute names of one touch (`first_touch_at`, `first_touch_source`, ...).
pub(crate) fn touch_names(prefix: &str) -> impl Iterator<Item = String> + '_ {
    std::iter::once("at")
        .chain(FIELDS)
        .map(move |field| format!("{prefix}{field}"))
}

/// A campaign: source, medium, name, term and content, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Campaign([Option<String>; 5]);

impl Campaign {
    /// From a Segment `context.campaign` object (`name` is the campaign).
    pub(crate) fn from_context(object: &Map<String, Json>) -> Option<Campaign> {
        let mut c = Campaign::default();
        for (i, field) in FIELDS.iter().enumerate() {
            let key = if *field == "campaign" { "name" } else { field };
            c.0[i] = object
                .get(key)
                .and_then(Json::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
        }
        c.found()
    }

    /// From the `utm_*` query parameters of a URL; `None` when it has none or is no URL.
    pub(crate) fn from_url(text: &str) -> Option<Campaign> {
        let url = url::Url::parse(text).ok()?;
        let mut c = Campaign::default();
        for (key, value) in url.query_pairs() {
            let Some(field) = key.strip_prefix("utm_") else {
                continue;
            };
            if let Some(i) = FIELDS.iter().position(|f| *f == field) {
                if !value.is_empty() && c.0[i].is_none() {
                    c.0[i] = Some(value.into_owned());
                }
            }
        }
        c.found()
    }

    /// A campaign counts when it names a source or a campaign.
    fn found(self) -> Option<Campaign> {
        (self.0[0].is_some() || self.0[2].is_some()).then_some(self)
    }

    /// The writes that keep `id`'s first and last touch: the first touch is replaced by an
    /// earlier campaign, the last touch by a later one (or one at the same instant), so the
    /// order in which messages arrive does not change the result. Fields the new campaign
    /// lacks are removed, so a touch never mixes two campaigns.
    pub(crate) fn touch_writes(&self, audience: &Audience, id: &str, at: Timestamp) -> Vec<Write> {
        let slot = audience.store.slot(id);
        let held = |name: &str| -> Option<Timestamp> {
            match audience.store.attribute(slot?, name)?.to_value() {
                Value::Timestamp(t) => Some(t),
                _ => None,
            }
        };
        let mut attributes = Vec::new();
        let mut writes = Vec::new();
        let first_at = format!("{FIRST_TOUCH}at");
        let last_at = format!("{LAST_TOUCH}at");
        let first = held(&first_at).is_none_or(|t| at < t);
        let last = held(&last_at).is_none_or(|t| at >= t);
        for (prefix, replace) in [(FIRST_TOUCH, first), (LAST_TOUCH, last)] {
            if !replace {
                continue;
            }
            attributes.push((format!("{prefix}at"), Value::Timestamp(at)));
            for (field, value) in FIELDS.iter().zip(&self.0) {
                let name = format!("{prefix}{field}");
                match value {
                    Some(v) => attributes.push((name, Value::String(v.clone()))),
                    None => {
                        if slot.is_some_and(|s| audience.store.attribute(s, &name).is_some()) {
                            writes.push(Write::Unset {
                                id: id.to_owned(),
                                attribute: name,
                            });
                        }
                    }
                }
            }
        }
        if !attributes.is_empty() {
            writes.insert(
                0,
                Write::Upsert {
                    id: id.to_owned(),
                    attributes,
                },
            );
        }
        writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utm_parameters_are_read_from_the_query() {
        let c = Campaign::from_url(
            "https://shop.example/p?utm_source=news%20letter&utm_medium=email&utm_campaign=bf&x=1",
        )
        .unwrap();
        assert_eq!(c.0[0].as_deref(), Some("news letter"));
        assert_eq!(c.0[1].as_deref(), Some("email"));
        assert_eq!(c.0[2].as_deref(), Some("bf"));
        assert_eq!(c.0[3], None);
        assert_eq!(Campaign::from_url("https://shop.example/p?x=1"), None);
        assert_eq!(Campaign::from_url("not a url"), None);
        assert_eq!(
            Campaign::from_url("https://s.example/?utm_medium=cpc"),
            None
        );
    }
}
