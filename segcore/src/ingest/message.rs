//! A Segment-spec message (`identify`, `track`, `page`, `screen`, `group`, `alias`) as the
//! writes it makes. The same reading serves RudderStack and other senders of the spec.

use jiff::Timestamp;
use serde_json::{Map, Value as Json};

use super::campaign::Campaign;
use super::values::{
    attribute_value, flatten, id_of, json_kind, message_time, property_value, Converted,
};
use crate::audience::Audience;
use crate::profile::Event;
use crate::schema::Schema;
use crate::value::Value;
use crate::write::Write;

/// The message types the reader knows.
pub const MESSAGE_TYPES: &[&str] = &["identify", "track", "page", "screen", "group", "alias"];

/// One step of a message: a plain write, or a merge of two profiles.
#[derive(Debug)]
pub(crate) enum Step {
    Write(Write),
    /// Merge profile `from` into `into` (see `Audience::merge_profiles`).
    Merge {
        from: String,
        into: String,
    },
}

/// What a message will do, once checked.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The message type.
    pub kind: &'static str,
    /// The profile the message is about, after aliases.
    pub id: String,
    pub steps: Vec<Step>,
    /// Values no attribute or property type can hold.
    pub not_stored: u64,
}

impl Plan {
    pub(crate) fn writes(&self) -> impl Iterator<Item = &Write> {
        self.steps.iter().filter_map(|s| match s {
            Step::Write(w) => Some(w),
            Step::Merge { .. } => None,
        })
    }
}

/// Reads one message into a plan; an `Err` is the reason it is rejected.
pub(crate) fn plan(
    audience: &mut Audience,
    schema: Option<&Schema>,
    message: &Json,
) -> Result<Plan, String> {
    let Json::Object(m) = message else {
        return Err(format!(
            "a message is a JSON object, not {}",
            json_kind(message)
        ));
    };
    let kind = match m.get("type") {
        Some(Json::String(t)) => MESSAGE_TYPES
            .iter()
            .find(|k| **k == t.as_str())
            .copied()
            .ok_or_else(|| {
                format!(
                    "unknown message type {t:?}; expected one of {}",
                    MESSAGE_TYPES.join(", ")
                )
            })?,
        Some(other) => return Err(format!("`type` is {}, not a string", json_kind(other))),
        None => return Err("no `type`".to_owned()),
    };
    let at = message_time(m)?;
    let user = id_of(m.get("userId"));
    let anonymous = id_of(m.get("anonymousId"));
    let mut planner = Planner {
        steps: Vec::new(),
        not_stored: 0,
    };
    let id = match kind {
        "alias" => {
            let previous = id_of(m.get("previousId")).ok_or("an alias needs a `previousId`")?;
            let target = user.or(anonymous).ok_or("an alias needs a `userId`")?;
            let into = audience.resolve(&target);
            let from = audience.resolve(&previous);
            if from != into {
                planner.steps.push(Step::Merge {
                    from,
                    into: into.clone(),
                });
            }
            into
        }
        _ => {
            let id = match (&user, &anonymous) {
                (Some(u), _) => audience.resolve(u),
                (None, Some(a)) => audience.resolve(a),
                (None, None) => return Err("no `userId` or `anonymousId`".to_owned()),
            };
            // An identified message that also carries an anonymous id stitches the visitor's
            // anonymous history onto the user, unless that id already belongs to someone.
            if let (Some(_), Some(a)) = (&user, &anonymous) {
                if audience.resolve(a) == *a && *a != id && audience.store.slot(a).is_some() {
                    planner.steps.push(Step::Merge {
                        from: a.clone(),
                        into: id.clone(),
                    });
                }
            }
            id
        }
    };
    // Ids are settled; the rest only reads, with the types of `schema` when given (a dry
    // run's copy), else the audience's.
    let audience: &Audience = audience;
    let schema = schema.unwrap_or(&audience.schema);
    let object = |key: &str| -> Result<Option<&Map<String, Json>>, String> {
        match m.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Object(o)) => Ok(Some(o)),
            Some(other) => Err(format!(
                "`{key}` must be an object, not {}",
                json_kind(other)
            )),
        }
    };
    let context = object("context")?;
    match kind {
        "identify" => {
            if let Some(traits) = object("traits")? {
                planner.attributes(audience, schema, &id, "", traits)?;
            }
        }
        "group" => {
            let group = id_of(m.get("groupId")).ok_or("a group message needs a `groupId`")?;
            let mut attributes = vec![("group_id".to_owned(), Value::String(group))];
            if let Some(traits) = object("traits")? {
                planner.collect(audience, schema, "group", traits, &mut attributes, &id)?;
            }
            planner.steps.push(Step::Write(Write::Upsert {
                id: id.clone(),
                attributes,
            }));
        }
        "track" | "page" | "screen" => {
            let name = match kind {
                "track" => match m.get("event") {
                    Some(Json::String(e)) if !e.is_empty() => e.clone(),
                    Some(Json::String(_)) | None | Some(Json::Null) => {
                        return Err("a track message needs an `event` name".to_owned())
                    }
                    Some(other) => {
                        return Err(format!("`event` is {}, not a string", json_kind(other)))
                    }
                },
                other => other.to_owned(),
            };
            let properties = object("properties")?;
            let event = planner.event(schema, name, at, kind, m, properties, context)?;
            planner.steps.push(Step::Write(Write::Track {
                id: id.clone(),
                event,
            }));
        }
        _ => {}
    }
    // Campaign touches, from the context or the page's UTM parameters.
    let campaign = context
        .and_then(|c| c.get("campaign"))
        .and_then(Json::as_object)
        .and_then(Campaign::from_context)
        .or_else(|| page_url(m, context).and_then(|u| Campaign::from_url(&u)));
    if let (Some(campaign), true) = (campaign, kind != "alias") {
        planner.steps.extend(
            campaign
                .touch_writes(audience, &id, at)
                .into_iter()
                .map(Step::Write),
        );
    }
    // Consent from a consent manager: `context.consent.categoryPreferences`.
    if let Some(preferences) = context
        .and_then(|c| c.get("consent"))
        .and_then(Json::as_object)
        .and_then(|c| c.get("categoryPreferences"))
    {
        let Json::Object(preferences) = preferences else {
            return Err(format!(
                "`context.consent.categoryPreferences` must be an object, not {}",
                json_kind(preferences)
            ));
        };
        for (channel, granted) in preferences {
            let Json::Bool(granted) = granted else {
                return Err(format!(
                    "consent preference `{channel}` must be true or false, not {}",
                    json_kind(granted)
                ));
            };
            planner.steps.push(Step::Write(Write::Consent {
                id: id.clone(),
                channel: channel.clone(),
                granted: *granted,
                at,
            }));
        }
    }
    Ok(Plan {
        kind,
        id,
        steps: planner.steps,
        not_stored: planner.not_stored,
    })
}

/// The page URL of a message: `properties.url`, else `context.page.url`.
fn page_url(m: &Map<String, Json>, context: Option<&Map<String, Json>>) -> Option<String> {
    let from_properties = m
        .get("properties")
        .and_then(|p| p.get("url"))
        .and_then(Json::as_str);
    let from_context = context
        .and_then(|c| c.get("page"))
        .and_then(|p| p.get("url"))
        .and_then(Json::as_str);
    from_properties.or(from_context).map(str::to_owned)
}

struct Planner {
    steps: Vec<Step>,
    not_stored: u64,
}

impl Planner {
    /// Traits as attribute writes: values set in one upsert, nulls removed.
    fn attributes(
        &mut self,
        audience: &Audience,
        schema: &Schema,
        id: &str,
        prefix: &str,
        traits: &Map<String, Json>,
    ) -> Result<(), String> {
        let mut attributes = Vec::new();
        self.collect(audience, schema, prefix, traits, &mut attributes, id)?;
        self.steps.push(Step::Write(Write::Upsert {
            id: id.to_owned(),
            attributes,
        }));
        Ok(())
    }

    fn collect(
        &mut self,
        audience: &Audience,
        schema: &Schema,
        prefix: &str,
        traits: &Map<String, Json>,
        attributes: &mut Vec<(String, Value)>,
        id: &str,
    ) -> Result<(), String> {
        let mut leaves = Vec::new();
        flatten(prefix, traits, &mut leaves);
        for (name, value) in leaves {
            let declared = schema.attribute(&name);
            match attribute_value(&name, value, declared)? {
                Converted::Value(v) => attributes.push((name, v)),
                Converted::NotStored => self.not_stored += 1,
                Converted::Null => {
                    let held = audience
                        .store
                        .slot(id)
                        .is_some_and(|s| audience.store.attribute(s, &name).is_some());
                    if held {
                        self.steps.push(Step::Write(Write::Unset {
                            id: id.to_owned(),
                            attribute: name,
                        }));
                    }
                }
            }
        }
        Ok(())
    }

    /// A `track`, `page` or `screen` event with its properties. A page or screen also keeps
    /// its `name`, and the page's `url`, `path`, `title` and `referrer` from the context when
    /// the properties lack them.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        schema: &Schema,
        name: String,
        at: Timestamp,
        kind: &str,
        m: &Map<String, Json>,
        properties: Option<&Map<String, Json>>,
        context: Option<&Map<String, Json>>,
    ) -> Result<Event, String> {
        let mut event = Event::new(name, at);
        let mut leaves = Vec::new();
        if let Some(p) = properties {
            flatten("", p, &mut leaves);
        }
        let mut extra: Vec<(String, &Json)> = Vec::new();
        if kind != "track" {
            if let Some(n) = m.get("name").filter(|n| n.is_string()) {
                extra.push(("name".to_owned(), n));
            }
            if let Some(page) = context
                .and_then(|c| c.get("page"))
                .and_then(Json::as_object)
            {
                for key in ["url", "path", "title", "referrer"] {
                    if let Some(v) = page.get(key).filter(|v| v.is_string()) {
                        extra.push((key.to_owned(), v));
                    }
                }
            }
        }
        for (key, value) in extra {
            if !leaves.iter().any(|(k, _)| *k == key) {
                leaves.push((key, value));
            }
        }
        for (key, value) in leaves {
            let declared = schema.event_property(&event.name, &key);
            match property_value(&key, value, declared)? {
                Converted::Value(v) => event.properties.push((key, v)),
                Converted::NotStored => self.not_stored += 1,
                Converted::Null => {}
            }
        }
        Ok(event)
    }
}
