//! Checks a message's or a row's writes against the schema before any is applied, so that a
//! rejected input leaves the audience as it was.

use std::collections::HashMap;

use crate::audience::{check_event, check_tag};
use crate::error::{Error, Result};
use crate::limits::check_instant;
use crate::schema::{check_name, Schema};
use crate::value::AttrType;
use crate::write::Write;

/// The types the writes declare, as (event or `None` for an attribute, name, type).
pub(crate) type Declarations = Vec<(Option<String>, String, AttrType)>;

/// Checks `writes` against `schema` and against each other; returns what they would declare.
pub(crate) fn check_writes<'a>(
    schema: &Schema,
    writes: impl IntoIterator<Item = &'a Write>,
) -> Result<Declarations> {
    let mut seen: HashMap<(Option<&str>, &str), AttrType> = HashMap::new();
    let mut declared = Declarations::new();
    let mut note = |event: Option<&'a str>, name: &'a str, ty: AttrType| -> Result<()> {
        match seen.get(&(event, name)) {
            Some(&expected) if expected != ty => Err(Error::Schema {
                field: event.map_or_else(|| name.to_owned(), |e| format!("{e}.{name}")),
                expected,
                found: ty,
            }),
            Some(_) => Ok(()),
            None => {
                seen.insert((event, name), ty);
                declared.push((event.map(str::to_owned), name.to_owned(), ty));
                Ok(())
            }
        }
    };
    for write in writes {
        match write {
            Write::Upsert { id, attributes } => {
                check_name(id, "a profile id")?;
                for (name, value) in attributes {
                    check_name(name, "an attribute name")?;
                    value.check(name)?;
                    schema.check_attribute(name, value.attr_type())?;
                    note(None, name, value.attr_type())?;
                }
            }
            Write::Tag { id, tag, at } => {
                check_name(id, "a profile id")?;
                check_tag(tag)?;
                check_instant(*at, "the tag's time")?;
            }
            Write::Track { id, event } => {
                check_name(id, "a profile id")?;
                check_event(schema, event)?;
                for (key, value) in &event.properties {
                    note(Some(&event.name), key, value.attr_type())?;
                }
            }
            Write::Consent {
                id, channel, at, ..
            } => {
                check_name(id, "a profile id")?;
                check_name(channel, "a consent channel")?;
                check_instant(*at, "the consent's time")?;
            }
            Write::Unset { .. } | Write::Untag { .. } | Write::Erase { .. } => {}
        }
    }
    Ok(declared)
}

/// Records checked declarations in `schema` (for a dry run over a whole file).
pub(crate) fn declare(schema: &mut Schema, declared: Declarations) -> Result<()> {
    for (event, name, ty) in declared {
        match event {
            None => schema.declare_attribute(&name, ty)?,
            Some(event) => schema.declare_event_property(&event, &name, ty)?,
        }
    }
    Ok(())
}
