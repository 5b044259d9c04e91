//! Contact lists as CSV: which column is the id, which are attributes (and their types),
//! which holds tags and which consent, with presets for the exports of common email tools.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::values::{parse_bool, parse_local_instant, parse_number, quoted};
use crate::error::{Error, Result};
use crate::suggest::nearest;
use crate::value::{AttrType, Value};
use crate::write::Write;

/// One column read into an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeColumn {
    /// The column's header.
    pub column: String,
    /// The attribute it fills.
    pub attribute: String,
    /// How its text is read.
    pub ty: AttrType,
    /// Whether a header without this column is accepted (presets list columns an export may
    /// or may not have).
    pub optional: bool,
}

/// A column of consent decisions for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentColumn {
    /// The column's header.
    pub column: String,
    /// The consent channel it decides.
    pub channel: String,
    /// Whether a header without this column is accepted.
    pub optional: bool,
}

/// How the columns of a contact CSV become a profile.
///
/// ```
/// use segcore::ingest::ContactMapping;
/// use segcore::AttrType;
///
/// let mapping = ContactMapping::new("Email")
///     .id_attribute("email")
///     .attribute("First Name", "first_name", AttrType::String)
///     .attribute("Orders", "orders", AttrType::Number)
///     .tags("Tags", ";")
///     .consent("Newsletter", "email");
/// assert_eq!(mapping.attributes.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactMapping {
    /// The column that holds each profile's id (often the e-mail address).
    pub id: String,
    /// An attribute that also receives the id (`email`, when the id is the address).
    pub id_attribute: Option<String>,
    /// Columns read into attributes.
    pub attributes: Vec<AttributeColumn>,
    /// The column of tags and the text between two tags.
    pub tags: Option<(String, String)>,
    /// Columns of consent decisions: `yes`, `subscribed`, `opted in`, `true`, `1` grant;
    /// `no`, `unsubscribed`, `cleaned`, `opted out`, `false`, `0` withdraw; an empty cell
    /// decides nothing.
    pub consent: Vec<ConsentColumn>,
    /// Decisions every row makes, such as `("email", true)` for an email tool's export of its
    /// subscribed members.
    pub consent_for_every_row: Vec<(String, bool)>,
}

/// The JSON form of a mapping (see [`ContactMapping::from_json`]).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingSpec {
    preset: Option<String>,
    id: Option<String>,
    #[serde(alias = "idAttribute")]
    id_attribute: Option<String>,
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, AttributeSpec>,
    tags: Option<String>,
    #[serde(alias = "tagSeparator")]
    tag_separator: Option<String>,
    #[serde(default)]
    consent: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    subscribed: Vec<String>,
}

/// An attribute column's target: a name (a string attribute), or a name and a type.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum AttributeSpec {
    Name(String),
    Typed(String, String),
}

/// The names of the presets [`ContactMapping::preset`] knows.
pub const PRESETS: &[&str] = &["mailchimp", "klaviyo"];

/// A preset: the id column, attribute columns, the tags column and its separator, and the
/// consent columns with their channels.
struct Preset {
    name: &'static str,
    id: &'static str,
    columns: &'static [(&'static str, &'static str, AttrType)],
    tags: Option<(&'static str, &'static str)>,
    consent: &'static [(&'static str, &'static str)],
}

const PRESET_MAPPINGS: &[Preset] = &[
    Preset {
        name: "mailchimp",
        id: "Email Address",
        columns: &[
            ("First Name", "first_name", AttrType::String),
            ("Last Name", "last_name", AttrType::String),
            ("Address", "address", AttrType::String),
            ("Phone Number", "phone", AttrType::String),
            ("Birthday", "birthday", AttrType::String),
            ("MEMBER_RATING", "member_rating", AttrType::Number),
            ("OPTIN_TIME", "opted_in_at", AttrType::Timestamp),
            ("CONFIRM_TIME", "confirmed_at", AttrType::Timestamp),
            ("LAST_CHANGED", "last_changed_at", AttrType::Timestamp),
            ("CC", "country", AttrType::String),
            ("REGION", "region", AttrType::String),
            ("TIMEZONE", "time_zone", AttrType::String),
        ],
        tags: Some(("TAGS", ",")),
        consent: &[],
    },
    Preset {
        name: "klaviyo",
        id: "Email",
        columns: &[
            ("First Name", "first_name", AttrType::String),
            ("Last Name", "last_name", AttrType::String),
            ("Phone Number", "phone", AttrType::String),
            ("Organization", "organization", AttrType::String),
            ("City", "city", AttrType::String),
            ("Region", "region", AttrType::String),
            ("Country", "country", AttrType::String),
        ],
        tags: None,
        consent: &[
            ("Email Marketing Consent", "email"),
            ("SMS Marketing Consent", "sms"),
        ],
    },
];

impl ContactMapping {
    /// A mapping with only an id column.
    pub fn new(id_column: &str) -> ContactMapping {
        ContactMapping {
            id: id_column.to_owned(),
            id_attribute: None,
            attributes: Vec::new(),
            tags: None,
            consent: Vec::new(),
            consent_for_every_row: Vec::new(),
        }
    }

    /// The mapping for an email tool's contact export:
    ///
    /// - `mailchimp`: `Email Address` (the id, also `email`), `First Name`, `Last Name`,
    ///   `Address`, `Phone Number`, `Birthday`, `MEMBER_RATING` (a number), `OPTIN_TIME`,
    ///   `CONFIRM_TIME`, `LAST_CHANGED` (instants), `CC` (`country`), `REGION`, `TIMEZONE`, and
    ///   `TAGS` (comma-separated, each possibly quoted). Mailchimp exports one file per status,
    ///   so consent is not read: add `consent_for_every_row("email", true)` for a file of
    ///   subscribed members.
    /// - `klaviyo`: `Email` (the id, also `email`), `First Name`, `Last Name`, `Phone Number`,
    ///   `Organization`, `City`, `Region`, `Country`, `Email Marketing Consent` (channel
    ///   `email`) and `SMS Marketing Consent` (channel `sms`).
    ///
    /// Every preset column but the id may be missing from the file.
    pub fn preset(name: &str) -> Result<ContactMapping> {
        let Some(preset) = PRESET_MAPPINGS.iter().find(|p| p.name == name) else {
            return Err(Error::UnknownName {
                kind: crate::NameKind::Preset,
                name: name.to_owned(),
                suggestion: nearest(name, PRESETS.iter().copied()),
            });
        };
        let (id, columns, tags, consent) = (preset.id, preset.columns, preset.tags, preset.consent);
        let mut mapping = ContactMapping::new(id).id_attribute("email");
        for &(column, attribute, ty) in columns {
            mapping.attributes.push(AttributeColumn {
                column: column.to_owned(),
                attribute: attribute.to_owned(),
                ty,
                optional: true,
            });
        }
        mapping.tags = tags.map(|(c, s)| (c.to_owned(), s.to_owned()));
        for &(column, channel) in consent {
            mapping.consent.push(ConsentColumn {
                column: column.to_owned(),
                channel: channel.to_owned(),
                optional: true,
            });
        }
        Ok(mapping)
    }

    /// A mapping from its JSON description, the form the Python and Node packages pass:
    ///
    /// ```json
    /// {"preset": "mailchimp", "id": "Email", "id_attribute": "email",
    ///  "attributes": {"Orders": ["orders", "number"], "Name": "name"},
    ///  "tags": "Tags", "tag_separator": ";",
    ///  "consent": {"Newsletter": "email"}, "subscribed": ["email"]}
    /// ```
    ///
    /// Every key is optional but one of `preset` and `id`; `id` overrides the preset's id
    /// column; an attribute without a type is a string; `idAttribute` and `tagSeparator` are
    /// accepted too. Unknown keys and types are errors.
    ///
    /// ```
    /// let m = segcore::ingest::ContactMapping::from_json(
    ///     r#"{"id": "Email", "attributes": {"Orders": ["orders", "number"]}, "tags": "Tags"}"#,
    /// )?;
    /// assert_eq!((m.id.as_str(), m.attributes.len(), m.tags.unwrap().1.as_str()), ("Email", 1, ","));
    /// assert!(segcore::ingest::ContactMapping::from_json(r#"{"idd": "Email"}"#).is_err());
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn from_json(text: &str) -> Result<ContactMapping> {
        let spec: MappingSpec = serde_json::from_str(text)
            .map_err(|e| Error::InvalidValue(format!("contact mapping: {e}")))?;
        let mut mapping = match (&spec.preset, &spec.id) {
            (Some(p), id) => {
                let mut m = ContactMapping::preset(p)?;
                if let Some(id) = id {
                    m.id = id.clone();
                }
                m
            }
            (None, Some(id)) => ContactMapping::new(id),
            (None, None) => {
                return Err(Error::InvalidValue(
                    "contact mapping: give a `preset` or an `id` column".to_owned(),
                ))
            }
        };
        if let Some(a) = &spec.id_attribute {
            mapping = mapping.id_attribute(a);
        }
        for (column, target) in &spec.attributes {
            let (name, ty) = match target {
                AttributeSpec::Name(name) => (name.as_str(), AttrType::String),
                AttributeSpec::Typed(name, ty) => (name.as_str(), AttrType::from_name(ty)?),
            };
            mapping = mapping.attribute(column, name, ty);
        }
        if let Some(column) = &spec.tags {
            mapping = mapping.tags(column, spec.tag_separator.as_deref().unwrap_or(","));
        }
        for (column, channel) in &spec.consent {
            mapping = mapping.consent(column, channel);
        }
        for channel in &spec.subscribed {
            mapping = mapping.consent_for_every_row(channel, true);
        }
        Ok(mapping)
    }

    /// Also stores the id in `attribute`.
    pub fn id_attribute(mut self, attribute: &str) -> ContactMapping {
        self.id_attribute = Some(attribute.to_owned());
        self
    }

    /// Reads `column` into `attribute` as `ty`; the column must be in the file.
    pub fn attribute(mut self, column: &str, attribute: &str, ty: AttrType) -> ContactMapping {
        self.attributes.push(AttributeColumn {
            column: column.to_owned(),
            attribute: attribute.to_owned(),
            ty,
            optional: false,
        });
        self
    }

    /// Reads tags from `column`, split at `separator`.
    pub fn tags(mut self, column: &str, separator: &str) -> ContactMapping {
        self.tags = Some((column.to_owned(), separator.to_owned()));
        self
    }

    /// Reads consent decisions for `channel` from `column`.
    pub fn consent(mut self, column: &str, channel: &str) -> ContactMapping {
        self.consent.push(ConsentColumn {
            column: column.to_owned(),
            channel: channel.to_owned(),
            optional: false,
        });
        self
    }

    /// Records the same decision for `channel` for every row.
    pub fn consent_for_every_row(mut self, channel: &str, granted: bool) -> ContactMapping {
        self.consent_for_every_row
            .push((channel.to_owned(), granted));
        self
    }

    /// The mapping's columns located in a header; an error names a missing required column
    /// and the nearest header.
    pub(crate) fn locate(&self, header: &[String], source: &str) -> Result<Located> {
        let find = |column: &str, optional: bool| -> Result<Option<usize>> {
            let exact = header.iter().position(|h| h == column);
            let loose = || {
                header
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(column.trim()))
            };
            match exact.or_else(loose) {
                Some(i) => Ok(Some(i)),
                None if optional => Ok(None),
                None => Err(Error::Input {
                    origin: source.to_owned(),
                    line: Some(1),
                    reason: format!(
                        "no column {}{}; the header has {}",
                        quoted(column),
                        nearest(column, header.iter().map(String::as_str))
                            .map(|s| format!(" (did you mean {}?)", quoted(&s)))
                            .unwrap_or_default(),
                        header
                            .iter()
                            .map(|h| quoted(h))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
            }
        };
        let id = find(&self.id, false)?.expect("required");
        let mut attributes = Vec::new();
        for a in &self.attributes {
            if let Some(i) = find(&a.column, a.optional)? {
                attributes.push((i, a.clone()));
            }
        }
        let tags = match &self.tags {
            Some((column, separator)) => find(column, true)?.map(|i| (i, separator.clone())),
            None => None,
        };
        let mut consent = Vec::new();
        for c in &self.consent {
            if let Some(i) = find(&c.column, c.optional)? {
                consent.push((i, c.clone()));
            }
        }
        Ok(Located {
            id,
            id_attribute: self.id_attribute.clone(),
            attributes,
            tags,
            consent,
            every_row: self.consent_for_every_row.clone(),
            width: header.len(),
            header: header.to_vec(),
        })
    }
}

/// A mapping with its columns found in one file's header.
pub(crate) struct Located {
    id: usize,
    id_attribute: Option<String>,
    attributes: Vec<(usize, AttributeColumn)>,
    tags: Option<(usize, String)>,
    consent: Vec<(usize, ConsentColumn)>,
    every_row: Vec<(String, bool)>,
    width: usize,
    header: Vec<String>,
}

impl Located {
    /// One row's writes; an `Err` is the reason the row is rejected.
    pub(crate) fn row(
        &self,
        row: &csv::ByteRecord,
        at: Timestamp,
        zone: &TimeZone,
    ) -> std::result::Result<Vec<Write>, String> {
        if row.len() != self.width {
            return Err(format!(
                "the row has {} fields; the header has {}",
                row.len(),
                self.width
            ));
        }
        let field = |i: usize| -> std::result::Result<&str, String> {
            std::str::from_utf8(&row[i])
                .map(str::trim)
                .map_err(|_| format!("{} is not valid UTF-8", quoted(&self.header[i])))
        };
        let id = field(self.id)?;
        if id.is_empty() {
            return Err(format!("no id in {}", quoted(&self.header[self.id])));
        }
        let mut attributes: Vec<(String, Value)> = Vec::new();
        if let Some(a) = &self.id_attribute {
            attributes.push((a.clone(), Value::String(id.to_owned())));
        }
        for (i, column) in &self.attributes {
            let text = field(*i)?;
            if text.is_empty() {
                continue;
            }
            let name = &column.attribute;
            let value = match column.ty {
                AttrType::String => Value::String(text.to_owned()),
                AttrType::Number => Value::Number(parse_number(text).ok_or_else(|| {
                    format!(
                        "{} is {}, not a number",
                        quoted(&column.column),
                        quoted(text)
                    )
                })?),
                AttrType::Bool => Value::Bool(parse_bool(text).ok_or_else(|| {
                    format!(
                        "{} is {}, not yes or no",
                        quoted(&column.column),
                        quoted(text)
                    )
                })?),
                AttrType::Timestamp => {
                    Value::Timestamp(parse_local_instant(text, zone).ok_or_else(|| {
                        format!(
                            "{} is {}, not a date or an instant",
                            quoted(&column.column),
                            quoted(text)
                        )
                    })?)
                }
                AttrType::List => Value::List(split(text, ",")),
            };
            attributes.push((name.clone(), value));
        }
        let mut writes = vec![Write::Upsert {
            id: id.to_owned(),
            attributes,
        }];
        if let Some((i, separator)) = &self.tags {
            for tag in split(field(*i)?, separator) {
                writes.push(Write::Tag {
                    id: id.to_owned(),
                    tag,
                    at,
                });
            }
        }
        for (channel, granted) in &self.every_row {
            writes.push(Write::Consent {
                id: id.to_owned(),
                channel: channel.clone(),
                granted: *granted,
                at,
            });
        }
        for (i, column) in &self.consent {
            let text = field(*i)?;
            if text.is_empty() {
                continue;
            }
            let granted = consent_decision(text).ok_or_else(|| {
                format!(
                    "{} is {}, not a consent decision (yes, no, subscribed, unsubscribed, …)",
                    quoted(&column.column),
                    quoted(text)
                )
            })?;
            writes.push(Write::Consent {
                id: id.to_owned(),
                channel: column.channel.clone(),
                granted,
                at,
            });
        }
        Ok(writes)
    }
}

/// Items of a separated list, trimmed, quotes around each removed, empty ones dropped.
fn split(text: &str, separator: &str) -> Vec<String> {
    text.split(separator)
        .map(|t| t.trim().trim_matches('"').trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A consent cell as granted or withdrawn.
fn consent_decision(text: &str) -> Option<bool> {
    let t = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    match t.as_str() {
        "subscribed" | "opted_in" | "optin" | "opt_in" | "granted" | "consented" | "confirmed" => {
            Some(true)
        }
        "unsubscribed" | "cleaned" | "opted_out" | "optout" | "opt_out" | "withdrawn"
        | "never_subscribed" | "not_subscribed" => Some(false),
        _ => parse_bool(&t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_cells_read_as_email_tools_write_them() {
        assert_eq!(consent_decision("Subscribed"), Some(true));
        assert_eq!(consent_decision("opted in"), Some(true));
        assert_eq!(consent_decision("YES"), Some(true));
        assert_eq!(consent_decision("NEVER_SUBSCRIBED"), Some(false));
        assert_eq!(consent_decision("cleaned"), Some(false));
        assert_eq!(consent_decision("0"), Some(false));
        assert_eq!(consent_decision("maybe"), None);
    }

    #[test]
    fn tags_lose_their_quotes() {
        assert_eq!(
            split(r#""VIP", "Spring Sale",,"#, ","),
            ["VIP", "Spring Sale"]
        );
    }

    #[test]
    fn unknown_presets_suggest_a_known_one() {
        let e = ContactMapping::preset("mailchim").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown contact preset `mailchim` (did you mean `mailchimp`?)"
        );
    }
}
