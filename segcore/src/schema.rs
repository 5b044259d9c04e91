//! The audience's schema: attribute types, known events and their properties, tag namespaces
//! and consent channels. Inferred from the first write of each name, or declared up front, and
//! enforced on every later write.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::value::AttrType;

/// Channels every audience knows without a declaration.
pub const BUILTIN_CHANNELS: &[&str] = &["email", "sms", "push"];

/// What the audience knows about names and their types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    attributes: BTreeMap<String, AttrType>,
    events: BTreeMap<String, BTreeMap<String, AttrType>>,
    tag_namespaces: BTreeSet<String>,
    channels: BTreeSet<String>,
}

impl Schema {
    /// The type of an attribute, if known.
    pub fn attribute(&self, name: &str) -> Option<AttrType> {
        self.attributes.get(name).copied()
    }

    /// All attributes with their types, by name.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, AttrType)> {
        self.attributes.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Whether an event name is known.
    pub fn has_event(&self, name: &str) -> bool {
        self.events.contains_key(name)
    }

    /// All known event names.
    pub fn events(&self) -> impl Iterator<Item = &str> {
        self.events.keys().map(String::as_str)
    }

    /// The properties (and numeric values) of an event with their types.
    pub fn event_properties(&self, event: &str) -> impl Iterator<Item = (&str, AttrType)> {
        self.events
            .get(event)
            .into_iter()
            .flat_map(|props| props.iter().map(|(k, v)| (k.as_str(), *v)))
    }

    /// The type of one event property, if known.
    pub fn event_property(&self, event: &str, key: &str) -> Option<AttrType> {
        self.events.get(event)?.get(key).copied()
    }

    /// Known tag namespaces (the part before `:` in `interest:outdoor`).
    pub fn tag_namespaces(&self) -> impl Iterator<Item = &str> {
        self.tag_namespaces.iter().map(String::as_str)
    }

    /// Whether a tag namespace is known.
    pub fn has_tag_namespace(&self, ns: &str) -> bool {
        self.tag_namespaces.contains(ns)
    }

    /// Known consent channels, the built-in `email`, `sms` and `push` included.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        let extra = self.channels.iter().map(String::as_str);
        BUILTIN_CHANNELS
            .iter()
            .copied()
            .chain(extra.filter(|c| !BUILTIN_CHANNELS.contains(c)))
    }

    /// Whether a consent channel is known.
    pub fn has_channel(&self, channel: &str) -> bool {
        BUILTIN_CHANNELS.contains(&channel) || self.channels.contains(channel)
    }

    /// Checks that `ty` fits attribute `name`, without recording anything.
    pub(crate) fn check_attribute(&self, name: &str, ty: AttrType) -> Result<()> {
        match self.attributes.get(name) {
            Some(&expected) if expected != ty => Err(Error::Schema {
                field: name.to_owned(),
                expected,
                found: ty,
            }),
            _ => Ok(()),
        }
    }

    /// Records attribute `name` as `ty`; fails if it is known with another type.
    pub(crate) fn declare_attribute(&mut self, name: &str, ty: AttrType) -> Result<()> {
        self.check_declare_attribute(name, ty)?;
        self.attributes.entry(name.to_owned()).or_insert(ty);
        Ok(())
    }

    /// What [`Schema::declare_attribute`] would refuse, without recording anything.
    pub(crate) fn check_declare_attribute(&self, name: &str, ty: AttrType) -> Result<()> {
        check_name(name, "an attribute name")?;
        self.check_attribute(name, ty)
    }

    pub(crate) fn declare_event(&mut self, name: &str) -> Result<()> {
        check_name(name, "an event name")?;
        self.events.entry(name.to_owned()).or_default();
        Ok(())
    }

    /// Checks that `ty` fits property `key` of `event`, without recording anything.
    pub(crate) fn check_event_property(&self, event: &str, key: &str, ty: AttrType) -> Result<()> {
        check_name(key, "an event property name")?;
        if !matches!(ty, AttrType::String | AttrType::Number) {
            return Err(Error::InvalidValue(format!(
                "event property `{event}.{key}` must be a string or a number, not {ty}"
            )));
        }
        match self.events.get(event).and_then(|p| p.get(key)) {
            Some(&expected) if expected != ty => Err(Error::Schema {
                field: format!("{event}.{key}"),
                expected,
                found: ty,
            }),
            _ => Ok(()),
        }
    }

    pub(crate) fn declare_event_property(
        &mut self,
        event: &str,
        key: &str,
        ty: AttrType,
    ) -> Result<()> {
        self.check_declare_event_property(event, key, ty)?;
        self.events
            .entry(event.to_owned())
            .or_default()
            .entry(key.to_owned())
            .or_insert(ty);
        Ok(())
    }

    /// What [`Schema::declare_event_property`] would refuse, without recording anything.
    pub(crate) fn check_declare_event_property(
        &self,
        event: &str,
        key: &str,
        ty: AttrType,
    ) -> Result<()> {
        check_name(event, "an event name")?;
        self.check_event_property(event, key, ty)
    }

    pub(crate) fn declare_tag_namespace(&mut self, ns: &str) -> Result<()> {
        check_tag_namespace(ns)?;
        if !self.tag_namespaces.contains(ns) {
            self.tag_namespaces.insert(ns.to_owned());
        }
        Ok(())
    }

    pub(crate) fn declare_channel(&mut self, channel: &str) -> Result<()> {
        check_name(channel, "a consent channel")?;
        if !self.has_channel(channel) {
            self.channels.insert(channel.to_owned());
        }
        Ok(())
    }
}

/// A tag namespace is a name without `:` or `*`.
pub(crate) fn check_tag_namespace(ns: &str) -> Result<()> {
    check_name(ns, "a tag namespace")?;
    if ns.contains(':') || ns.contains('*') {
        return Err(Error::InvalidValue(format!(
            "tag namespace `{ns}` may not contain `:` or `*`"
        )));
    }
    Ok(())
}

/// Names are non-empty; everything else is allowed (the text form can quote any name).
pub(crate) fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidValue(format!("{what} may not be empty")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_once_set_is_enforced() {
        let mut s = Schema::default();
        s.declare_attribute("age", AttrType::Number).unwrap();
        s.declare_attribute("age", AttrType::Number).unwrap();
        let e = s.declare_attribute("age", AttrType::String).unwrap_err();
        assert_eq!(
            e,
            Error::Schema {
                field: "age".into(),
                expected: AttrType::Number,
                found: AttrType::String
            }
        );
    }

    #[test]
    fn event_properties_are_strings_or_numbers() {
        let mut s = Schema::default();
        s.declare_event_property("purchase", "amount", AttrType::Number)
            .unwrap();
        assert!(matches!(
            s.declare_event_property("purchase", "ok", AttrType::Bool),
            Err(Error::InvalidValue(_))
        ));
        assert!(matches!(
            s.declare_event_property("purchase", "amount", AttrType::String),
            Err(Error::Schema { .. })
        ));
        assert_eq!(
            s.event_property("purchase", "amount"),
            Some(AttrType::Number)
        );
    }

    #[test]
    fn builtin_channels_are_known() {
        let mut s = Schema::default();
        assert!(s.has_channel("email"));
        assert!(!s.has_channel("whatsapp"));
        s.declare_channel("whatsapp").unwrap();
        assert_eq!(
            s.channels().collect::<Vec<_>>(),
            ["email", "sms", "push", "whatsapp"]
        );
    }
}
