//! Segments files: `name = predicate`, a definition continued on indented lines, `#`
//! comments and blank lines ignored; or a JSON object of name → predicate text.
//!
//! ```text
//! # Who gets the spring campaign
//! vips = tag "vip" and consent email
//! big_spenders =
//!     sum(purchase.amount in last 365d) > 1000
//! ```

use std::path::Path;

use crate::output::{caret, Failure};

/// One definition and where its text starts in the file.
#[derive(Debug, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub text: String,
    /// The 1-based line of the text's first character in the file.
    pub line: usize,
    /// The 1-based column of the text's first character on that line.
    pub column: usize,
}

pub fn read(path: &Path) -> Result<Vec<Definition>, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure(format!("{}: {e}", path.display())))?;
    let name = path.display().to_string();
    if path.extension().is_some_and(|e| e == "json") {
        return from_json(&text, &name);
    }
    parse(&text, &name)
}

fn from_json(text: &str, file: &str) -> Result<Vec<Definition>, Failure> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Failure(format!("{file}:{}:{}: {e}", e.line(), e.column())))?;
    let Some(object) = value.as_object() else {
        return Err(Failure(format!(
            "{file}: expected a JSON object of name → predicate"
        )));
    };
    object
        .iter()
        .map(|(name, text)| match text.as_str() {
            Some(t) => Ok(Definition {
                name: name.clone(),
                text: t.to_owned(),
                line: 1,
                column: 1,
            }),
            None => Err(Failure(format!("{file}: segment `{name}` is not a string"))),
        })
        .collect()
}

pub fn parse(text: &str, file: &str) -> Result<Vec<Definition>, Failure> {
    let mut out: Vec<Definition> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some(last) = out.last_mut() else {
                return Err(Failure(format!(
                    "{file}:{number}: an indented line continues a definition, but none came before\n{}",
                    caret(text, number, 1)
                )));
            };
            if last.text.is_empty() {
                last.line = number;
                last.column = line.len() - line.trim_start().len() + 1;
                last.text = line.trim_start().to_owned();
            } else {
                last.text.push('\n');
                last.text.push_str(line);
            }
            continue;
        }
        let Some((name, rest)) = line.split_once('=') else {
            return Err(Failure(format!(
                "{file}:{number}: expected `name = predicate`\n{}",
                caret(text, number, 1)
            )));
        };
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(Failure(format!(
                "{file}:{number}: expected a segment name (no spaces) before `=`\n{}",
                caret(text, number, 1)
            )));
        }
        let body = rest.trim_start();
        let column = line.len() - body.len() + 1;
        out.push(Definition {
            name: name.to_owned(),
            text: body.trim_end().to_owned(),
            line: number,
            column: line[..column - 1].chars().count() + 1,
        });
    }
    if let Some(empty) = out.iter().find(|d| d.text.trim().is_empty()) {
        return Err(Failure(format!(
            "{file}:{}: segment `{}` has no definition",
            empty.line, empty.name
        )));
    }
    Ok(out)
}

/// A position in a definition's text as a position in the file.
pub fn file_position(d: &Definition, line: usize, column: usize) -> (usize, usize) {
    if line <= 1 {
        (d.line, d.column + column - 1)
    } else {
        (d.line + line - 1, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_continue_on_indented_lines() {
        let defs = parse(
            "# c\nvips = tag \"vip\"\n\nbig =\n    sum(purchase.amount) > 10\n    and tag \"x\"\n",
            "f",
        )
        .unwrap();
        assert_eq!(defs.len(), 2);
        assert_eq!((defs[0].line, defs[0].column), (2, 8));
        assert_eq!(defs[1].text, "sum(purchase.amount) > 10\n    and tag \"x\"");
        assert_eq!((defs[1].line, defs[1].column), (5, 5));
        assert_eq!(file_position(&defs[1], 2, 9), (6, 9));
        assert_eq!(file_position(&defs[0], 1, 5), (2, 12));
    }

    #[test]
    fn mistakes_name_their_line() {
        let e = parse("vips tag\n", "f").unwrap_err();
        assert!(e.0.starts_with("f:1: expected `name = predicate`"), "{e}");
        let e = parse("  tag \"x\"\n", "f").unwrap_err();
        assert!(e.0.starts_with("f:1: an indented line"), "{e}");
        let e = parse("a =\nb = tag \"x\"\n", "f").unwrap_err();
        assert_eq!(e.0, "f:1: segment `a` has no definition");
    }
}
