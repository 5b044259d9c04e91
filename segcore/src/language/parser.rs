//! A recursive-descent parser for the text form.
//!
//! Hand-written rather than built on a combinator crate because its value is in the errors:
//! each failure names the token found, what would have fitted there, and its line and column;
//! and it counts nesting so that hostile input gets an error, not a stack overflow.

use super::ast::{
    AggFunc, CmpOp, CountTest, DistanceUnit, Filter, Literal, Near, Predicate, Test, TextPattern,
    Which, DEFAULT_LATITUDE, DEFAULT_LONGITUDE, MAX_DEPTH,
};
use super::display::RESERVED;
use super::lexer::{tokenize, Tok, Token};
use super::time::{CalendarUnit, Duration, DurationUnit, TimeLiteral, TimeRef, Window};
use crate::error::{Error, ParseError};

type PResult<T> = Result<T, ParseError>;

/// Parses the text form of a predicate.
pub(crate) fn parse(src: &str) -> Result<Predicate, Error> {
    let tokens = tokenize(src)?;
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        depth: 0,
    };
    let pred = p.or_expr()?;
    if p.peek() != &Tok::Eof {
        return Err(p.error("`and`, `or` or the end of the segment").into());
    }
    Ok(pred)
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

const CONDITION: &str = "a condition: an attribute name, `tag`, `did`, `not`, `(`, `consent`, \
                         `segment`, `within`, `sum(`/`avg(`/`min(`/`max(` or `first(`/`last(`";

const TEST: &str = "a test: `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in`, `between`, \
                    `exists`, `missing`, `contains`, `starts with`, `ends with`, `matches`, \
                    `within`, `before` or `after`";

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        let i = (self.pos + ahead).min(self.tokens.len() - 1);
        &self.tokens[i].tok
    }

    fn advance(&mut self) -> Token {
        let t = self.tokens[self.pos].clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn error(&self, expected: &str) -> ParseError {
        let t = &self.tokens[self.pos];
        ParseError::new(
            self.src,
            t.span.clone(),
            t.tok.describe(self.src, &t.span),
            expected.to_owned(),
        )
    }

    /// Whether the next token is the unquoted keyword `kw`.
    fn at_keyword(&self, kw: &str) -> bool {
        self.keyword_at(0, kw)
    }

    fn keyword_at(&self, ahead: usize, kw: &str) -> bool {
        matches!(self.peek_at(ahead), Tok::Word { text, quoted: false } if text == kw)
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.at_keyword(kw) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> PResult<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.error(&format!("`{kw}`")))
        }
    }

    fn expect(&mut self, tok: Tok, what: &str) -> PResult<()> {
        if self.peek() == &tok {
            self.advance();
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!(
                "at most {MAX_DEPTH} levels of nested parentheses and `not`"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn name(&mut self, what: &str) -> PResult<String> {
        match self.peek().clone() {
            Tok::Word { text, quoted } if quoted || !RESERVED.contains(&text.as_str()) => {
                self.advance();
                Ok(text)
            }
            _ => Err(self.error(what)),
        }
    }

    fn string(&mut self, what: &str) -> PResult<String> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.advance();
                Ok(s)
            }
            _ => Err(self.error(what)),
        }
    }

    fn number(&mut self, what: &str) -> PResult<f64> {
        match *self.peek() {
            Tok::Num(n) => {
                self.advance();
                Ok(n)
            }
            _ => Err(self.error(what)),
        }
    }

    fn whole_number(&mut self, what: &str) -> PResult<u32> {
        match *self.peek() {
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => {
                self.advance();
                Ok(n as u32)
            }
            _ => Err(self.error(what)),
        }
    }

    // ---- boolean structure ----

    /// `built`, unless it nests deeper than [`MAX_DEPTH`] (counted as
    /// [`Predicate::depth`] counts), which is an error at the token at `at`: the `not`, `and`
    /// or `or` that made it too deep.
    fn within_depth(&self, built: Predicate, at: usize) -> PResult<Predicate> {
        if built.depth() <= MAX_DEPTH {
            return Ok(built);
        }
        let t = &self.tokens[at];
        Err(ParseError::new(
            self.src,
            t.span.clone(),
            t.tok.describe(self.src, &t.span),
            format!("at most {MAX_DEPTH} levels of nested `not`, `and` and `or`"),
        ))
    }

    fn or_expr(&mut self) -> PResult<Predicate> {
        let first = self.and_expr()?;
        if !self.at_keyword("or") {
            return Ok(first);
        }
        let at = self.pos;
        let mut parts = vec![first];
        while self.eat_keyword("or") {
            parts.push(self.and_expr()?);
        }
        self.within_depth(Predicate::Or(parts), at)
    }

    fn and_expr(&mut self) -> PResult<Predicate> {
        let first = self.unary()?;
        if !self.at_keyword("and") {
            return Ok(first);
        }
        let at = self.pos;
        let mut parts = vec![first];
        while self.eat_keyword("and") {
            parts.push(self.unary()?);
        }
        self.within_depth(Predicate::And(parts), at)
    }

    fn unary(&mut self) -> PResult<Predicate> {
        if self.at_keyword("not") {
            let at = self.pos;
            self.enter()?;
            self.advance();
            let inner = self.unary()?;
            self.leave();
            return self.within_depth(Predicate::Not(Box::new(inner)), at);
        }
        if self.peek() == &Tok::LParen {
            self.enter()?;
            self.advance();
            let inner = self.or_expr()?;
            self.expect(Tok::RParen, "`)`, `and` or `or`")?;
            self.leave();
            return Ok(inner);
        }
        self.condition()
    }

    // ---- conditions ----

    fn condition(&mut self) -> PResult<Predicate> {
        let word = match self.peek() {
            Tok::Word {
                text,
                quoted: false,
            } => Some(text.clone()),
            Tok::Word { .. } => None,
            _ => return Err(self.error(CONDITION)),
        };
        let call = self.peek_at(1) == &Tok::LParen;
        match word.as_deref() {
            Some("tag") => {
                self.advance();
                self.tag()
            }
            Some("did") => {
                self.advance();
                self.did()
            }
            Some("within") => {
                self.advance();
                self.near()
            }
            Some("consent") => {
                self.advance();
                Ok(Predicate::Consent(
                    self.name("a consent channel name, such as email")?,
                ))
            }
            Some("segment") => {
                self.advance();
                Ok(Predicate::Segment(self.name("a segment name")?))
            }
            Some(f @ ("sum" | "avg" | "min" | "max")) if call => {
                let func = match f {
                    "sum" => AggFunc::Sum,
                    "avg" => AggFunc::Avg,
                    "min" => AggFunc::Min,
                    _ => AggFunc::Max,
                };
                self.advance();
                self.aggregate(func)
            }
            Some(w @ ("first" | "last")) if call => {
                let which = if w == "first" {
                    Which::First
                } else {
                    Which::Last
                };
                self.advance();
                self.occurrence(which)
            }
            _ => {
                let name = self.name(CONDITION)?;
                let test = self.test()?;
                Ok(Predicate::Attribute { name, test })
            }
        }
    }

    fn tag(&mut self) -> PResult<Predicate> {
        if self.eat_keyword("any") {
            return Ok(Predicate::TagAny(self.string_list()?));
        }
        if self.eat_keyword("all") {
            return Ok(Predicate::TagAll(self.string_list()?));
        }
        let tag = self.string("a tag in double quotes, `any [...]` or `all [...]`")?;
        let within = if self.eat_keyword("within") || self.eat_keyword("in") {
            Some(self.window_body()?)
        } else {
            None
        };
        Ok(Predicate::Tag { tag, within })
    }

    fn did(&mut self) -> PResult<Predicate> {
        let not_at = self.pos;
        let negated = self.eat_keyword("not");
        let event = self.name("an event name")?;
        let count = self.count()?;
        let window = self.event_window()?;
        let filter = self.filters()?;
        let pred = Predicate::Event {
            event,
            count,
            window,
            filter,
        };
        if negated {
            self.within_depth(Predicate::Not(Box::new(pred)), not_at)
        } else {
            Ok(pred)
        }
    }

    fn count(&mut self) -> PResult<Option<CountTest>> {
        let op = if self.at_keyword("at") && self.keyword_at(1, "least") {
            CmpOp::Ge
        } else if self.at_keyword("at") && self.keyword_at(1, "most") {
            CmpOp::Le
        } else if self.at_keyword("more") && self.keyword_at(1, "than") {
            CmpOp::Gt
        } else if self.at_keyword("fewer") && self.keyword_at(1, "than") {
            CmpOp::Lt
        } else if self.at_keyword("other") && self.keyword_at(1, "than") {
            CmpOp::Ne
        } else if self.at_keyword("exactly") {
            self.advance();
            return self.times(CmpOp::Eq).map(Some);
        } else {
            return Ok(None);
        };
        self.advance();
        self.advance();
        self.times(op).map(Some)
    }

    fn times(&mut self, op: CmpOp) -> PResult<CountTest> {
        let times = self.whole_number("a whole number of times")?;
        if !(self.eat_keyword("times") || self.eat_keyword("time")) {
            return Err(self.error("`times`"));
        }
        Ok(CountTest { op, times })
    }

    /// A window after an event: `in last 30d`, `in this month`, `between A and B`, `since A`.
    fn event_window(&mut self) -> PResult<Option<Window>> {
        if self.eat_keyword("in") || self.eat_keyword("within") {
            return self.window_body().map(Some);
        }
        if self.at_keyword("between") || self.at_keyword("since") {
            return self.window_body().map(Some);
        }
        Ok(None)
    }

    fn window_body(&mut self) -> PResult<Window> {
        const WINDOW: &str = "a window: `last 30d`, `this month`, `last calendar month`, \
                              `last 3 calendar months`, `between A and B` or `since A`";
        if self.eat_keyword("last") {
            if self.eat_keyword("calendar") {
                let unit = self.calendar_unit()?;
                return Ok(Window::LastCalendar { unit, count: 1 });
            }
            if let Tok::Num(_) = self.peek() {
                let count_at = self.pos;
                let count = self.whole_number("a whole number of periods")?;
                if count == 0 {
                    self.pos = count_at;
                    return Err(self.error("a number of calendar periods of at least 1"));
                }
                self.expect_keyword("calendar")?;
                let unit = self.calendar_unit()?;
                if count > unit.max_count() {
                    self.pos = count_at;
                    return Err(self.error(&format!(
                        "at most {} calendar {}s (10,000 years)",
                        unit.max_count(),
                        unit.name()
                    )));
                }
                return Ok(Window::LastCalendar { unit, count });
            }
            return Ok(Window::Last(self.duration()?));
        }
        if self.eat_keyword("this") {
            return Ok(Window::This(self.calendar_unit()?));
        }
        if self.eat_keyword("between") {
            let start = self.time_ref()?;
            self.expect_keyword("and")?;
            let end = self.time_ref()?;
            return Ok(Window::Between { start, end });
        }
        if self.eat_keyword("since") {
            return Ok(Window::Since(self.time_ref()?));
        }
        Err(self.error(WINDOW))
    }

    fn calendar_unit(&mut self) -> PResult<CalendarUnit> {
        const UNIT: &str = "`day`, `week`, `month`, `quarter` or `year`";
        match self.peek() {
            Tok::Word {
                text,
                quoted: false,
            } => match CalendarUnit::from_word(text) {
                Some(u) => {
                    self.advance();
                    Ok(u)
                }
                None => Err(self.error(UNIT)),
            },
            _ => Err(self.error(UNIT)),
        }
    }

    fn duration(&mut self) -> PResult<Duration> {
        const DURATION: &str = "a duration such as 30d, 12h, 90m, 45s or 2w";
        match self.peek() {
            Tok::Suffixed { digits, suffix } => match format!("{digits}{suffix}").parse() {
                Ok(d @ Duration { unit, .. }) if d.check().is_err() => Err(self.error(&format!(
                    "a duration of at most {}{suffix} (10,000 years)",
                    unit.max_amount()
                ))),
                Ok(d) => {
                    self.advance();
                    Ok(d)
                }
                // Digits beyond u32: too long for any unit, so name the largest.
                Err(_) if suffix.len() == 1 && digits.len() > 9 => {
                    match DurationUnit::from_suffix(suffix) {
                        Some(unit) => Err(self.error(&format!(
                            "a duration of at most {}{suffix} (10,000 years)",
                            unit.max_amount()
                        ))),
                        None => Err(self.error(DURATION)),
                    }
                }
                Err(_) => Err(self.error(DURATION)),
            },
            _ => Err(self.error(DURATION)),
        }
    }

    fn time_ref(&mut self) -> PResult<TimeRef> {
        const TIME: &str = "a time: `now`, `30d ago`, `30d from now` or a date such as @2024-05-01";
        match self.peek().clone() {
            Tok::Word {
                text,
                quoted: false,
            } if text == "now" => {
                self.advance();
                Ok(TimeRef::Now {})
            }
            Tok::Time(text) => match text.parse::<TimeLiteral>() {
                Ok(lit) if lit.check().is_err() => Err(self.error("a time in the years 1 to 9999")),
                Ok(lit) => {
                    self.advance();
                    Ok(TimeRef::At(lit))
                }
                Err(_) => Err(self.error(
                    "a date (@2024-05-01), a date-time (@2024-05-01T09:30:00) \
                     or an instant (@2024-05-01T09:30:00Z)",
                )),
            },
            Tok::Suffixed { .. } => {
                let d = self.duration()?;
                if self.eat_keyword("ago") {
                    Ok(TimeRef::Ago(d))
                } else if self.at_keyword("from") && self.keyword_at(1, "now") {
                    self.advance();
                    self.advance();
                    Ok(TimeRef::FromNow(d))
                } else {
                    Err(self.error("`ago` or `from now`"))
                }
            }
            _ => Err(self.error(TIME)),
        }
    }

    fn filters(&mut self) -> PResult<Vec<Filter>> {
        if !self.eat_keyword("where") {
            return Ok(Vec::new());
        }
        if self.peek() == &Tok::LParen {
            self.advance();
            let mut out = vec![self.filter()?];
            while self.eat_keyword("and") {
                out.push(self.filter()?);
            }
            self.expect(Tok::RParen, "`and` or `)`")?;
            Ok(out)
        } else {
            Ok(vec![self.filter()?])
        }
    }

    fn filter(&mut self) -> PResult<Filter> {
        let key = self.name("an event property name")?;
        let test = self.test()?;
        Ok(Filter { key, test })
    }

    fn aggregate(&mut self, func: AggFunc) -> PResult<Predicate> {
        self.expect(Tok::LParen, "`(`")?;
        let event = self.name("an event name")?;
        self.expect(
            Tok::Dot,
            "`.` and the numeric value to aggregate, as in purchase.amount",
        )?;
        let value = self.name("the name of a numeric event value")?;
        let window = self.event_window()?;
        let filter = self.filters()?;
        self.expect(Tok::RParen, "`)`, a window or `where`")?;
        let test = self.test()?;
        Ok(Predicate::Aggregate {
            func,
            event,
            value,
            window,
            filter,
            test,
        })
    }

    fn occurrence(&mut self, which: Which) -> PResult<Predicate> {
        self.expect(Tok::LParen, "`(`")?;
        let event = self.name("an event name")?;
        let filter = self.filters()?;
        self.expect(Tok::RParen, "`)` or `where`")?;
        let test = self.test()?;
        Ok(Predicate::Occurrence {
            which,
            event,
            filter,
            test,
        })
    }

    fn near(&mut self) -> PResult<Predicate> {
        const RADIUS: &str = "a radius such as 50km or 10mi";
        let (radius, unit) = match self.peek().clone() {
            Tok::Suffixed { digits, suffix } => {
                let unit = distance_unit(&suffix).ok_or_else(|| self.error(RADIUS))?;
                let radius: f64 = digits.parse().map_err(|_| self.error(RADIUS))?;
                self.advance();
                (radius, unit)
            }
            Tok::Num(radius) => {
                self.advance();
                let unit = match self.peek() {
                    Tok::Word {
                        text,
                        quoted: false,
                    } => distance_unit(text),
                    _ => None,
                }
                .ok_or_else(|| self.error("`km` or `mi`"))?;
                self.advance();
                (radius, unit)
            }
            _ => return Err(self.error(RADIUS)),
        };
        self.expect_keyword("of")?;
        self.expect(Tok::LParen, "`(` and a latitude")?;
        let latitude = self.number("a latitude in degrees")?;
        self.expect(Tok::Comma, "`,`")?;
        let longitude = self.number("a longitude in degrees")?;
        self.expect(Tok::RParen, "`)`")?;
        let (latitude_attribute, longitude_attribute) = if self.eat_keyword("using") {
            let lat = self.name("the latitude attribute's name")?;
            self.expect(Tok::Comma, "`,`")?;
            let lon = self.name("the longitude attribute's name")?;
            (lat, lon)
        } else {
            (DEFAULT_LATITUDE.to_owned(), DEFAULT_LONGITUDE.to_owned())
        };
        Ok(Predicate::Near(Near {
            latitude,
            longitude,
            radius,
            unit,
            latitude_attribute,
            longitude_attribute,
        }))
    }

    // ---- tests and literals ----

    fn test(&mut self) -> PResult<Test> {
        if let Tok::Op(op) = *self.peek() {
            self.advance();
            let value = self.literal()?;
            return Ok(Test::Cmp { op, value });
        }
        let word = match self.peek() {
            Tok::Word {
                text,
                quoted: false,
            } => text.clone(),
            _ => return Err(self.error(TEST)),
        };
        match word.as_str() {
            "before" | "after" => {
                self.advance();
                let op = if word == "before" {
                    CmpOp::Lt
                } else {
                    CmpOp::Gt
                };
                Ok(Test::Cmp {
                    op,
                    value: Literal::Time(self.time_ref()?),
                })
            }
            "between" => {
                self.advance();
                let low = self.literal()?;
                self.expect_keyword("and")?;
                let high = self.literal()?;
                Ok(Test::Between { low, high })
            }
            "in" => {
                self.advance();
                if self.peek() == &Tok::LBracket {
                    Ok(Test::In(self.literal_list()?))
                } else {
                    Ok(Test::Within(self.window_body()?))
                }
            }
            "not" => {
                self.advance();
                self.expect_keyword("in")?;
                Ok(Test::NotIn(self.literal_list()?))
            }
            "exists" => {
                self.advance();
                Ok(Test::Exists)
            }
            "missing" => {
                self.advance();
                Ok(Test::Missing)
            }
            "contains" => {
                self.advance();
                if self.eat_keyword("any") {
                    Ok(Test::ContainsAny(self.string_list()?))
                } else if self.eat_keyword("all") {
                    Ok(Test::ContainsAll(self.string_list()?))
                } else {
                    Ok(Test::Contains(self.pattern()?))
                }
            }
            "starts" | "ends" => {
                self.advance();
                self.expect_keyword("with")?;
                let p = self.pattern()?;
                Ok(if word == "starts" {
                    Test::StartsWith(p)
                } else {
                    Test::EndsWith(p)
                })
            }
            "matches" => {
                self.advance();
                Ok(Test::Matches(
                    self.string("a regular expression in double quotes")?,
                ))
            }
            "within" => {
                self.advance();
                Ok(Test::Within(self.window_body()?))
            }
            _ => Err(self.error(TEST)),
        }
    }

    fn pattern(&mut self) -> PResult<TextPattern> {
        let value = self.string("text in double quotes")?;
        let ignore_case = if self.eat_keyword("ignore") {
            self.expect_keyword("case")?;
            true
        } else {
            false
        };
        Ok(TextPattern { value, ignore_case })
    }

    fn literal(&mut self) -> PResult<Literal> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.advance();
                Ok(Literal::String(s))
            }
            Tok::Num(n) => {
                self.advance();
                Ok(Literal::Number(n))
            }
            Tok::Word {
                text,
                quoted: false,
            } if text == "true" || text == "false" => {
                self.advance();
                Ok(Literal::Bool(text == "true"))
            }
            Tok::Word {
                text,
                quoted: false,
            } if text == "now" => Ok(Literal::Time(self.time_ref()?)),
            Tok::Time(_) | Tok::Suffixed { .. } => Ok(Literal::Time(self.time_ref()?)),
            _ => Err(self.error(
                "a value: a string, a number, true, false, or a time (`now`, `30d ago`, @2024-05-01)",
            )),
        }
    }

    fn literal_list(&mut self) -> PResult<Vec<Literal>> {
        self.list(|p| p.literal())
    }

    fn string_list(&mut self) -> PResult<Vec<String>> {
        self.list(|p| p.string("a string in double quotes"))
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        self.expect(Tok::LBracket, "`[`")?;
        let mut out = Vec::new();
        while self.peek() != &Tok::RBracket {
            out.push(item(self)?);
            if self.peek() == &Tok::Comma {
                self.advance();
            } else if self.peek() != &Tok::RBracket {
                return Err(self.error("`,` or `]`"));
            }
        }
        self.advance();
        Ok(out)
    }
}

fn distance_unit(s: &str) -> Option<DistanceUnit> {
    match s {
        "km" => Some(DistanceUnit::Km),
        "mi" => Some(DistanceUnit::Mi),
        _ => None,
    }
}
