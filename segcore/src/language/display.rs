//! The canonical text form. Parsing what is printed here gives back the same AST.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{
    CmpOp, CountTest, Filter, Literal, Near, Predicate, Test, TextPattern, DEFAULT_LATITUDE,
    DEFAULT_LONGITUDE,
};
use super::time::Window;

/// Words that would be read as part of the language where a name stands; names spelled like
/// them are printed in backticks.
pub(crate) const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "tag", "did", "within", "consent", "segment", "sum", "avg", "min",
    "max", "first", "last", "where", "true", "false", "now", "between", "since",
];

/// Writes a name plainly when it is a simple identifier, else in backticks.
pub(crate) struct Name<'a>(pub &'a str);

impl Display for Name<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut chars = s.chars();
        let plain = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !RESERVED.contains(&s);
        if plain {
            f.write_str(s)
        } else {
            f.write_char('`')?;
            f.write_str(&s.replace('`', "``"))?;
            f.write_char('`')
        }
    }
}

/// Writes a string literal in double quotes with escapes.
pub(crate) struct Quoted<'a>(pub &'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\t' => f.write_str("\\t")?,
                '\r' => f.write_str("\\r")?,
                c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

fn list<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    item: impl Fn(&mut Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    f.write_char('[')?;
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        item(f, x)?;
    }
    f.write_char(']')
}

fn string_list(f: &mut Formatter<'_>, items: &[String]) -> fmt::Result {
    list(f, items, |f, s| write!(f, "{}", Quoted(s)))
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::String(s) => write!(f, "{}", Quoted(s)),
            Literal::Time(t) => write!(f, "{t}"),
        }
    }
}

impl Display for TextPattern {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Quoted(&self.value))?;
        if self.ignore_case {
            f.write_str(" ignore case")?;
        }
        Ok(())
    }
}

impl Display for Test {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Test::Cmp {
                op: CmpOp::Lt,
                value: Literal::Time(t),
            } => write!(f, "before {t}"),
            Test::Cmp {
                op: CmpOp::Gt,
                value: Literal::Time(t),
            } => write!(f, "after {t}"),
            Test::Cmp { op, value } => write!(f, "{} {value}", op.symbol()),
            Test::Between { low, high } => write!(f, "between {low} and {high}"),
            Test::In(items) => {
                f.write_str("in ")?;
                list(f, items, |f, l| write!(f, "{l}"))
            }
            Test::NotIn(items) => {
                f.write_str("not in ")?;
                list(f, items, |f, l| write!(f, "{l}"))
            }
            Test::Exists => f.write_str("exists"),
            Test::Missing => f.write_str("missing"),
            Test::Contains(p) => write!(f, "contains {p}"),
            Test::StartsWith(p) => write!(f, "starts with {p}"),
            Test::EndsWith(p) => write!(f, "ends with {p}"),
            Test::Matches(re) => write!(f, "matches {}", Quoted(re)),
            Test::ContainsAny(items) => {
                f.write_str("contains any ")?;
                string_list(f, items)
            }
            Test::ContainsAll(items) => {
                f.write_str("contains all ")?;
                string_list(f, items)
            }
            Test::Within(w) => write!(f, "within {w}"),
        }
    }
}

/// An event window as it follows an event name: `in last 30d`, `between A and B`.
struct EventWindow<'a>(&'a Window);

impl Display for EventWindow<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Window::Between { .. } | Window::Since(_) => write!(f, "{}", self.0),
            w => write!(f, "in {w}"),
        }
    }
}

impl Display for CountTest {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let phrase = match self.op {
            CmpOp::Ge => "at least",
            CmpOp::Le => "at most",
            CmpOp::Eq => "exactly",
            CmpOp::Gt => "more than",
            CmpOp::Lt => "fewer than",
            CmpOp::Ne => "other than",
        };
        write!(f, "{phrase} {} times", self.times)
    }
}

fn filters(f: &mut Formatter<'_>, filter: &[Filter]) -> fmt::Result {
    match filter {
        [] => Ok(()),
        [one] => write!(f, " where {} {}", Name(&one.key), one.test),
        many => {
            f.write_str(" where (")?;
            for (i, x) in many.iter().enumerate() {
                if i > 0 {
                    f.write_str(" and ")?;
                }
                write!(f, "{} {}", Name(&x.key), x.test)?;
            }
            f.write_char(')')
        }
    }
}

impl Display for Near {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "within {}{} of ({}, {})",
            self.radius,
            self.unit.name(),
            self.latitude,
            self.longitude
        )?;
        if self.latitude_attribute != DEFAULT_LATITUDE
            || self.longitude_attribute != DEFAULT_LONGITUDE
        {
            write!(
                f,
                " using {}, {}",
                Name(&self.latitude_attribute),
                Name(&self.longitude_attribute)
            )?;
        }
        Ok(())
    }
}

impl Predicate {
    fn write_child(&self, f: &mut Formatter<'_>, parent_is_and: bool) -> fmt::Result {
        let needs_parens = match self {
            Predicate::Or(_) => true,
            Predicate::And(_) => parent_is_and,
            _ => false,
        };
        if needs_parens {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl Display for Predicate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Predicate::And(parts) | Predicate::Or(parts) => {
                let is_and = matches!(self, Predicate::And(_));
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(if is_and { " and " } else { " or " })?;
                    }
                    p.write_child(f, is_and)?;
                }
                Ok(())
            }
            Predicate::Not(inner) => {
                f.write_str("not ")?;
                match **inner {
                    Predicate::And(_) | Predicate::Or(_) => write!(f, "({inner})"),
                    _ => write!(f, "{inner}"),
                }
            }
            Predicate::Attribute { name, test } => write!(f, "{} {test}", Name(name)),
            Predicate::Tag { tag, within } => {
                write!(f, "tag {}", Quoted(tag))?;
                if let Some(w) = within {
                    write!(f, " within {w}")?;
                }
                Ok(())
            }
            Predicate::TagAny(tags) => {
                f.write_str("tag any ")?;
                string_list(f, tags)
            }
            Predicate::TagAll(tags) => {
                f.write_str("tag all ")?;
                string_list(f, tags)
            }
            Predicate::Event {
                event,
                count,
                window,
                filter,
            } => {
                write!(f, "did {}", Name(event))?;
                if let Some(c) = count {
                    write!(f, " {c}")?;
                }
                if let Some(w) = window {
                    write!(f, " {}", EventWindow(w))?;
                }
                filters(f, filter)
            }
            Predicate::Aggregate {
                func,
                event,
                value,
                window,
                filter,
                test,
            } => {
                write!(f, "{}({}.{}", func.name(), Name(event), Name(value))?;
                if let Some(w) = window {
                    write!(f, " {}", EventWindow(w))?;
                }
                filters(f, filter)?;
                write!(f, ") {test}")
            }
            Predicate::Occurrence {
                which,
                event,
                filter,
                test,
            } => {
                write!(f, "{}({}", which.name(), Name(event))?;
                filters(f, filter)?;
                write!(f, ") {test}")
            }
            Predicate::Near(near) => write!(f, "{near}"),
            Predicate::Consent(channel) => write!(f, "consent {}", Name(channel)),
            Predicate::Segment(name) => write!(f, "segment {}", Name(name)),
        }
    }
}
