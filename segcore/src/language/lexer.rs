//! Splits segment text into tokens, each with its byte span.

use std::ops::Range;

use super::ast::CmpOp;
use crate::error::ParseError;

/// One token of the text form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A word; `quoted` when written in backticks (then it is never a keyword).
    Word {
        text: String,
        quoted: bool,
    },
    /// A double-quoted string, unescaped.
    Str(String),
    /// A number with nothing attached.
    Num(f64),
    /// A number with letters attached: `30d`, `50km`.
    Suffixed {
        digits: String,
        suffix: String,
    },
    /// `@2024-05-01` (without the `@`).
    Time(String),
    Op(CmpOp),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eof,
}

impl Tok {
    /// How the token is named in "found ..." messages.
    pub(crate) fn describe(&self, source: &str, span: &Range<usize>) -> String {
        match self {
            Tok::Eof => "end of input".to_owned(),
            Tok::Str(_) => format!("string {}", &source[span.clone()]),
            Tok::Num(_) | Tok::Suffixed { .. } => format!("number `{}`", &source[span.clone()]),
            _ => format!("`{}`", &source[span.clone()]),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Range<usize>,
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |span: Range<usize>, expected: &str| {
        let end = span.end.min(src.len());
        let found = match src.get(span.start..end) {
            Some(s) if !s.is_empty() => format!("`{s}`"),
            _ => "end of input".to_owned(),
        };
        ParseError::new(src, span, found, expected.to_owned())
    };
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = |tok: Tok| Token {
            tok,
            span: start..start + 1,
        };
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => out.push(single(Tok::LParen)),
            b')' => out.push(single(Tok::RParen)),
            b'[' => out.push(single(Tok::LBracket)),
            b']' => out.push(single(Tok::RBracket)),
            b',' => out.push(single(Tok::Comma)),
            b'.' => out.push(single(Tok::Dot)),
            b'=' | b'!' | b'<' | b'>' => {
                let next = bytes.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    (b'=', Some(b'=')) => (CmpOp::Eq, 2),
                    (b'!', Some(b'=')) => (CmpOp::Ne, 2),
                    (b'<', Some(b'=')) => (CmpOp::Le, 2),
                    (b'>', Some(b'=')) => (CmpOp::Ge, 2),
                    (b'<', _) => (CmpOp::Lt, 1),
                    (b'>', _) => (CmpOp::Gt, 1),
                    _ => {
                        return Err(err(
                            start..start + 1,
                            "a comparison operator (`==`, `!=`, `<`, `<=`, `>`, `>=`)",
                        ))
                    }
                };
                out.push(Token {
                    tok: Tok::Op(op),
                    span: start..start + len,
                });
                i += len;
                continue;
            }
            b'"' => {
                let (s, end) = lex_string(src, start).map_err(|(span, what)| err(span, what))?;
                out.push(Token {
                    tok: Tok::Str(s),
                    span: start..end,
                });
                i = end;
                continue;
            }
            b'`' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match src[i..].find('`') {
                        None => return Err(err(src.len()..src.len(), "a closing backtick")),
                        Some(k) => {
                            text.push_str(&src[i..i + k]);
                            i += k + 1;
                            if bytes.get(i) == Some(&b'`') {
                                text.push('`');
                                i += 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
                if text.is_empty() {
                    return Err(err(start..i, "a name inside the backticks"));
                }
                out.push(Token {
                    tok: Tok::Word { text, quoted: true },
                    span: start..i,
                });
                continue;
            }
            b'@' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b':' | b'+' | b'-' | b'.'))
                {
                    i += 1;
                }
                if i == start + 1 {
                    return Err(err(
                        start..i,
                        "a date or time after `@`, such as @2024-05-01",
                    ));
                }
                out.push(Token {
                    tok: Tok::Time(src[start + 1..i].to_owned()),
                    span: start..i,
                });
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let (tok, end) = lex_number(src, start).ok_or_else(|| {
                    let len = src[start + 1..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || ".+-_".contains(c)))
                        .map_or(src.len() - start, |k| k + 1);
                    err(start..start + len, "a finite number")
                })?;
                out.push(Token {
                    tok,
                    span: start..end,
                });
                i = end;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Word {
                        text: src[start..i].to_owned(),
                        quoted: false,
                    },
                    span: start..i,
                });
                continue;
            }
            _ => {
                let len = src[start..].chars().next().map_or(1, char::len_utf8);
                return Err(err(
                    start..start + len,
                    "a name, a string, a number, an operator or a parenthesis",
                ));
            }
        }
        i += 1;
    }
    out.push(Token {
        tok: Tok::Eof,
        span: src.len()..src.len(),
    });
    Ok(out)
}

/// Reads `"..."` starting at `start`; returns the text and the end offset.
fn lex_string(src: &str, start: usize) -> Result<(String, usize), (Range<usize>, &'static str)> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        let at = start + 1 + k;
        match c {
            '"' => return Ok((out, at + 1)),
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 'u')) => {
                    let rest = &src[at + 2..];
                    let close = rest.find('}');
                    let code = match (rest.starts_with('{'), close) {
                        (true, Some(close)) => u32::from_str_radix(&rest[1..close], 16)
                            .ok()
                            .and_then(char::from_u32),
                        _ => None,
                    };
                    match (code, close) {
                        (Some(ch), Some(close)) => {
                            out.push(ch);
                            // Skip `{hex}`.
                            for _ in 0..=close {
                                chars.next();
                            }
                        }
                        _ => return Err((at..at + 2, "a unicode escape such as \\u{e9}")),
                    }
                }
                _ => return Err((at..at + 2, "an escape: \\\" \\\\ \\n \\t \\r or \\u{...}")),
            },
            _ => out.push(c),
        }
    }
    Err((start..src.len(), "a closing `\"`"))
}

/// Reads a number, and letters glued to it (`30d`, `50km`), starting at `start`.
fn lex_number(src: &str, start: usize) -> Option<(Tok, usize)> {
    let bytes = src.as_bytes();
    let mut i = start;
    if bytes[i] == b'-' {
        i += 1;
    }
    let digits_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let number_end = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
        i += 1;
    }
    let digits = &src[start..number_end];
    let value: f64 = digits.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    if i > number_end {
        return Some((
            Tok::Suffixed {
                digits: digits.to_owned(),
                suffix: src[number_end..i].to_owned(),
            },
            i,
        ));
    }
    Some((Tok::Num(value), i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_durations_and_distances() {
        assert_eq!(
            toks("-1.5 30d 50km 1e3"),
            vec![
                Tok::Num(-1.5),
                Tok::Suffixed {
                    digits: "30".into(),
                    suffix: "d".into()
                },
                Tok::Suffixed {
                    digits: "50".into(),
                    suffix: "km".into()
                },
                Tok::Num(1000.0),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn numbers_that_overflow_are_refused() {
        assert!(tokenize("1e999").is_err());
        assert!(tokenize("-1e999km").is_err());
        assert!(tokenize("1e308").is_ok());
    }

    #[test]
    fn strings_unescape() {
        assert_eq!(
            toks(r#""a\"b\\c\u{e9}""#),
            vec![Tok::Str("a\"b\\cé".into()), Tok::Eof]
        );
    }

    #[test]
    fn backticks_quote_names() {
        assert_eq!(
            toks("`first name` `a``b`"),
            vec![
                Tok::Word {
                    text: "first name".into(),
                    quoted: true
                },
                Tok::Word {
                    text: "a`b".into(),
                    quoted: true
                },
                Tok::Eof
            ]
        );
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(toks("# hi\n("), vec![Tok::LParen, Tok::Eof]);
    }

    #[test]
    fn errors_have_positions() {
        let e = tokenize("a = 1").unwrap_err();
        assert_eq!((e.line, e.column), (1, 3));
        let e = tokenize("\"open").unwrap_err();
        assert!(e.expected.contains("closing"));
        let e = tokenize("x ☃").unwrap_err();
        assert_eq!(e.found, "`☃`");
    }
}
