//! Validation of a predicate against an audience's schema and catalog, before evaluation:
//! unknown names get the nearest known one, and values that cannot fit a field's type are
//! type errors rather than silently false conditions.

use crate::catalog::Catalog;
use crate::error::{Error, NameKind, Result};
use crate::language::{Filter, Literal, Name, Near, Predicate, Test};
use crate::schema::Schema;
use crate::suggest::nearest;
use crate::value::AttrType;

pub(crate) fn validate(predicate: &Predicate, schema: &Schema, catalog: &Catalog) -> Result<()> {
    predicate.check_structure()?;
    let mut result = Ok(());
    predicate.visit(&mut |p| {
        if result.is_ok() {
            result = check_condition(p, schema, catalog);
        }
    });
    result
}

fn unknown<'a>(kind: NameKind, name: &str, known: impl IntoIterator<Item = &'a str>) -> Error {
    Error::UnknownName {
        kind,
        name: name.to_owned(),
        suggestion: nearest(name, known),
    }
}

fn check_condition(p: &Predicate, schema: &Schema, catalog: &Catalog) -> Result<()> {
    match p {
        Predicate::And(_) | Predicate::Or(_) | Predicate::Not(_) => Ok(()),
        Predicate::Attribute { name, test } => {
            let ty = attribute_type(schema, name)?;
            check_test(&format!("attribute `{name}`"), ty, test)
        }
        // Windows and time literals were range-checked by `check_structure`.
        Predicate::Tag { tag, within: _ } => check_tag(schema, tag),
        Predicate::TagAny(tags) | Predicate::TagAll(tags) => {
            tags.iter().try_for_each(|t| check_tag(schema, t))
        }
        Predicate::Event {
            event,
            count: _,
            window: _,
            filter,
        } => {
            check_event(schema, event)?;
            check_filters(schema, event, filter)
        }
        Predicate::Aggregate {
            func,
            event,
            value,
            window: _,
            filter,
            test,
        } => {
            check_event(schema, event)?;
            let ty = event_property_type(schema, event, value)?;
            if ty != AttrType::Number {
                return Err(Error::Type(format!(
                    "{}() needs a numeric value, but `{event}.{value}` is {ty}",
                    func.name()
                )));
            }
            check_filters(schema, event, filter)?;
            check_test(
                &format!("{}({event}.{value})", func.name()),
                AttrType::Number,
                test,
            )
        }
        Predicate::Occurrence {
            which,
            event,
            filter,
            test,
        } => {
            check_event(schema, event)?;
            check_filters(schema, event, filter)?;
            check_test(
                &format!("{}({event})", which.name()),
                AttrType::Timestamp,
                test,
            )
        }
        Predicate::Near(near) => check_near(schema, near),
        Predicate::Consent(channel) => {
            if schema.has_channel(channel) {
                Ok(())
            } else {
                Err(unknown(NameKind::Channel, channel, schema.channels()))
            }
        }
        Predicate::Segment(name) => match catalog.get(name) {
            Some(_) => Ok(()),
            None => Err(catalog.unknown(name)),
        },
    }
}

fn attribute_type(schema: &Schema, name: &str) -> Result<AttrType> {
    schema.attribute(name).ok_or_else(|| {
        unknown(
            NameKind::Attribute,
            name,
            schema.attributes().map(|(n, _)| n),
        )
    })
}

pub(crate) fn check_event(schema: &Schema, event: &str) -> Result<()> {
    if schema.has_event(event) {
        Ok(())
    } else {
        Err(unknown(NameKind::Event, event, schema.events()))
    }
}

pub(crate) fn event_property_type(schema: &Schema, event: &str, key: &str) -> Result<AttrType> {
    schema
        .event_property(event, key)
        .ok_or_else(|| Error::UnknownName {
            kind: NameKind::EventProperty,
            name: format!("{event}.{key}"),
            suggestion: nearest(key, schema.event_properties(event).map(|(k, _)| k))
                .map(|k| format!("{event}.{k}")),
        })
}

fn check_filters(schema: &Schema, event: &str, filters: &[Filter]) -> Result<()> {
    for f in filters {
        let ty = event_property_type(schema, event, &f.key)?;
        check_test(&format!("`{event}.{}`", f.key), ty, &f.test)?;
    }
    Ok(())
}

fn check_tag(schema: &Schema, tag: &str) -> Result<()> {
    if tag.is_empty() {
        return Err(Error::InvalidValue("a tag may not be empty".into()));
    }
    let wildcard = tag.strip_suffix(":*");
    if wildcard.is_none() && tag.contains('*') {
        return Err(Error::InvalidValue(format!(
            "`{tag}`: a tag wildcard is written `namespace:*`"
        )));
    }
    let namespace = wildcard.or_else(|| tag.split_once(':').map(|(ns, _)| ns));
    match namespace {
        Some("") => Err(Error::InvalidValue(format!(
            "`{tag}` has an empty namespace"
        ))),
        Some(ns) if !schema.has_tag_namespace(ns) => {
            Err(unknown(NameKind::TagNamespace, ns, schema.tag_namespaces()))
        }
        _ => Ok(()),
    }
}

fn check_near(schema: &Schema, near: &Near) -> Result<()> {
    for attr in [&near.latitude_attribute, &near.longitude_attribute] {
        let ty = attribute_type(schema, attr)?;
        if ty != AttrType::Number {
            return Err(Error::Type(format!(
                "location attribute `{attr}` must be a number, but it is {ty}"
            )));
        }
    }
    let ok = near.latitude.is_finite()
        && near.longitude.is_finite()
        && (-90.0..=90.0).contains(&near.latitude)
        && (-180.0..=180.0).contains(&near.longitude);
    if !ok {
        return Err(Error::InvalidValue(format!(
            "({}, {}) is not a latitude in [-90, 90] and a longitude in [-180, 180]",
            near.latitude, near.longitude
        )));
    }
    if !(near.radius.is_finite() && near.radius >= 0.0) {
        return Err(Error::InvalidValue(format!(
            "the radius must be a finite number of at least 0, got {}",
            near.radius
        )));
    }
    Ok(())
}

fn literal_type(lit: &Literal) -> Result<AttrType> {
    Ok(match lit {
        Literal::Bool(_) => AttrType::Bool,
        Literal::Number(n) if !n.is_finite() => {
            return Err(Error::InvalidValue(format!("{n} is not a finite number")))
        }
        Literal::Number(_) => AttrType::Number,
        Literal::String(_) => AttrType::String,
        Literal::Time(_) => AttrType::Timestamp,
    })
}

/// Checks that `test` makes sense for a field of type `ty`; `field` names it in messages.
fn check_test(field: &str, ty: AttrType, test: &Test) -> Result<()> {
    let allowed = |ok: bool, what: &str| -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(Error::Type(format!("{field} is {ty}; {what}")))
        }
    };
    let literal_fits = |lit: &Literal| -> Result<()> {
        let lt = literal_type(lit)?;
        if lt == ty {
            Ok(())
        } else {
            Err(Error::Type(format!(
                "{field} is {ty} and cannot be compared with {lt} ({lit})"
            )))
        }
    };
    match test {
        Test::Exists | Test::Missing => Ok(()),
        Test::Cmp { op, value } => {
            allowed(
                ty != AttrType::List,
                "use `contains`, `contains any` or `contains all`",
            )?;
            allowed(
                matches!(ty, AttrType::Number | AttrType::Timestamp)
                    || matches!(op.symbol(), "==" | "!="),
                &format!("`{}` needs a number or a timestamp", op.symbol()),
            )?;
            literal_fits(value)
        }
        Test::Between { low, high } => {
            allowed(
                matches!(ty, AttrType::Number | AttrType::Timestamp),
                "`between` needs a number or a timestamp",
            )?;
            literal_fits(low)?;
            literal_fits(high)
        }
        Test::In(items) | Test::NotIn(items) => {
            allowed(
                matches!(ty, AttrType::String | AttrType::Number | AttrType::Bool),
                "`in` needs a string, a number or a bool",
            )?;
            items.iter().try_for_each(literal_fits)
        }
        Test::Contains(_) => allowed(
            matches!(ty, AttrType::String | AttrType::List),
            "`contains` needs a string or a list",
        ),
        Test::StartsWith(_) | Test::EndsWith(_) => allowed(
            ty == AttrType::String,
            "`starts with` and `ends with` need a string",
        ),
        Test::Matches(pattern) => {
            allowed(ty == AttrType::String, "`matches` needs a string")?;
            regex::Regex::new(pattern).map(|_| ()).map_err(|e| {
                Error::InvalidValue(format!("regular expression {}: {e}", Name(pattern)))
            })
        }
        Test::ContainsAny(_) | Test::ContainsAll(_) => allowed(
            ty == AttrType::List,
            "`contains any` and `contains all` need a list",
        ),
        Test::Within(_) => allowed(ty == AttrType::Timestamp, "`within` needs a timestamp"),
    }
}
