//! Predicate text from the segment language's grammar, driven by bytes (a fuzzer's input or a
//! seeded generator's), with extreme numbers, far dates and odd windows; and the audience it
//! is evaluated on. Shared by the `evaluate` fuzz target (`fuzz/`) and the hostile-input suite,
//! so both explore the same space. Depends on segcore and std only.
#![allow(dead_code)]

use std::fmt::Write;

use jiff::Timestamp;
use segcore::{limits, Audience, Event, Value};

/// Reads choices from bytes; past the end every choice is 0, so any input gives a predicate.
pub struct Choices<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Choices { bytes, pos: 0 }
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
}

/// Whole numbers at and around every limit: u32's, the 10,000-year spans, jiff's spans.
const WHOLE: &[&str] = &[
    "0",
    "1",
    "2",
    "7",
    "30",
    "48",
    "255",
    "256",
    "9999",
    "10000",
    "10001",
    "40000",
    "40001",
    "120000",
    "120001",
    "239976",
    "239977",
    "521775",
    "521776",
    "1043497",
    "3652425",
    "3652426",
    "7304484",
    "87658200",
    "87658201",
    "4294967295",
    "4294967296",
    "99999999999999999999",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "0.5",
    "18",
    "36",
    "1e308",
    "-1e308",
    "1e-320",
    "1e309",
    "90",
    "-90",
    "180",
    "-180",
    "1000",
    "9007199254740993",
];

const TIMES: &[&str] = &[
    "now",
    "@0001-01-01",
    "@0000-12-31",
    "@9999-12-31",
    "@9999-12-30T22:00:00.999999999Z",
    "@9999-12-31T23:59:59Z",
    "@-009999-01-02",
    "@1970-01-01T00:00:00Z",
    "@2024-03-31T02:30:00",
    "@2024-10-27T02:30:00",
    "@2024-02-29",
    "@2024-03-01T00:00:00+14:00",
];

const UNITS: &[&str] = &["s", "m", "h", "d", "w"];
const CALENDAR: &[&str] = &["day", "week", "month", "quarter", "year"];
const OPS: &[&str] = &["==", "!=", "<", "<=", ">", ">="];
const STRINGS: &[&str] = &[
    "\"SE\"",
    "\"\"",
    "\"é\"",
    "\"Ada\"",
    "\"\\u{0}\"",
    "\"a\\\"b\"",
    "\"ΣΑΣ\"",
    "\"🎉\"",
];

fn whole(c: &mut Choices<'_>) -> String {
    if c.below(4) == 0 {
        c.u32().to_string()
    } else {
        c.pick(WHOLE).to_owned()
    }
}

fn number(c: &mut Choices<'_>) -> String {
    match c.below(3) {
        0 => whole(c),
        _ => c.pick(NUMBERS).to_owned(),
    }
}

fn duration(c: &mut Choices<'_>) -> String {
    format!("{}{}", whole(c), c.pick(UNITS))
}

fn time(c: &mut Choices<'_>) -> String {
    match c.below(4) {
        0 => format!("{} ago", duration(c)),
        1 => format!("{} from now", duration(c)),
        _ => c.pick(TIMES).to_owned(),
    }
}

fn window(c: &mut Choices<'_>) -> String {
    match c.below(6) {
        0 => format!("last {}", duration(c)),
        1 => format!("this {}", c.pick(CALENDAR)),
        2 => format!("last calendar {}", c.pick(CALENDAR)),
        3 => format!("last {} calendar {}s", whole(c), c.pick(CALENDAR)),
        4 => format!("between {} and {}", time(c), time(c)),
        _ => format!("since {}", time(c)),
    }
}

fn filter(c: &mut Choices<'_>) -> String {
    match c.below(4) {
        0 => String::new(),
        1 => format!(" where category == {}", c.pick(STRINGS)),
        2 => format!(" where amount {} {}", c.pick(OPS), number(c)),
        _ => format!(
            " where (category in [{}, {}] and amount between {} and {})",
            c.pick(STRINGS),
            c.pick(STRINGS),
            number(c),
            number(c)
        ),
    }
}

fn count(c: &mut Choices<'_>) -> String {
    let op = c.pick(&[
        "",
        "at least ",
        "at most ",
        "exactly ",
        "more than ",
        "fewer than ",
        "other than ",
    ]);
    if op.is_empty() {
        String::new()
    } else {
        format!(" {op}{} times", whole(c))
    }
}

fn event_window(c: &mut Choices<'_>) -> String {
    if c.below(3) == 0 {
        String::new()
    } else {
        format!(" in {}", window(c))
    }
}

fn leaf(c: &mut Choices<'_>) -> String {
    match c.below(22) {
        0 => format!("age {} {}", c.pick(OPS), number(c)),
        1 => format!("age between {} and {}", number(c), number(c)),
        2 => format!("age in [{}, {}]", number(c), number(c)),
        3 => format!("country {} {}", c.pick(&["==", "!="]), c.pick(STRINGS)),
        4 => format!(
            "name {} {}{}",
            c.pick(&["contains", "starts with", "ends with"]),
            c.pick(STRINGS),
            c.pick(&["", " ignore case"])
        ),
        5 => format!(
            "name matches {}",
            c.pick(&["\"^A\"", "\"(a+)+$\"", "\"\\\\p{Greek}\"", "\"[\""])
        ),
        6 => format!("signup {} {}", c.pick(OPS), time(c)),
        7 => format!("signup within {}", window(c)),
        8 => format!(
            "signup {}",
            c.pick(&["exists", "missing", "before now", "after 30d ago"])
        ),
        9 => format!(
            "interests contains {} [{}]",
            c.pick(&["any", "all"]),
            c.pick(STRINGS)
        ),
        10 => c
            .pick(&[
                "tag \"vip\"",
                "tag \"interest:*\"",
                "tag any [\"vip\", \"interest:x\"]",
            ])
            .to_owned(),
        11 => format!("tag \"vip\" within {}", window(c)),
        12 | 13 => format!(
            "did {}purchase{}{}{}",
            c.pick(&["", "not "]),
            count(c),
            event_window(c),
            filter(c)
        ),
        14 => format!("did view{}{}", count(c), event_window(c)),
        15 | 16 => format!(
            "{}(purchase.amount{}{}) {} {}",
            c.pick(&["sum", "avg", "min", "max"]),
            event_window(c),
            filter(c),
            c.pick(OPS),
            number(c)
        ),
        17 => format!(
            "{}(purchase{}) {} {}",
            c.pick(&["first", "last"]),
            filter(c),
            c.pick(OPS),
            time(c)
        ),
        18 => format!("{}(view) within {}", c.pick(&["first", "last"]), window(c)),
        19 => format!(
            "within {}{} of ({}, {})",
            number(c).trim_start_matches('-'),
            c.pick(&["km", "mi", " km"]),
            number(c),
            number(c)
        ),
        20 => c.pick(&["consent email", "consent sms"]).to_owned(),
        _ => c
            .pick(&["segment base", "segment derived", "segment seg_typo"])
            .to_owned(),
    }
}

fn expr(c: &mut Choices<'_>, out: &mut String, depth: u32) {
    let choice = if depth > 5 { 0 } else { c.below(6) };
    match choice {
        0..=2 => out.push_str(&leaf(c)),
        3 => {
            out.push_str("not ");
            expr(c, out, depth + 1);
        }
        _ => {
            out.push('(');
            expr(c, out, depth + 1);
            let _ = write!(out, " {} ", if choice == 4 { "and" } else { "or" });
            expr(c, out, depth + 1);
            out.push(')');
        }
    }
}

/// A predicate's text, mostly well formed, from `bytes`.
pub fn predicate_text(bytes: &[u8]) -> String {
    let mut c = Choices::new(bytes);
    let mut out = String::new();
    expr(&mut c, &mut out, 0);
    out
}

/// The instants a predicate is evaluated at: an ordinary `now`, the first and last storable
/// instants, and a daylight-saving day.
pub fn nows() -> Vec<Timestamp> {
    vec![
        "2024-03-31T12:00:00Z".parse().unwrap(),
        limits::EARLIEST_INSTANT,
        limits::LATEST_INSTANT,
        "2024-10-27T01:30:00Z".parse().unwrap(),
    ]
}

/// A small audience whose values sit at the edges: the first and last instants, huge and
/// negative numbers, a latitude out of range, empty and non-Latin strings.
pub fn audience() -> Audience {
    let mut a = Audience::with_time_zone("Europe/Stockholm").unwrap();
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };
    let early = limits::EARLIEST_INSTANT;
    let late = limits::LATEST_INSTANT;
    let now = t("2024-03-31T12:00:00Z");
    let rows: Vec<(&str, Vec<(&str, Value)>)> = vec![
        (
            "ada",
            vec![
                ("age", 36.into()),
                ("country", "SE".into()),
                ("name", "Ada".into()),
                ("signup", Value::Timestamp(early)),
                ("interests", Value::List(vec!["é".into(), "ΣΑΣ".into()])),
                ("latitude", 59.33.into()),
                ("longitude", 18.07.into()),
            ],
        ),
        (
            "bob",
            vec![
                ("age", Value::Number(1e308)),
                ("country", "".into()),
                ("name", "🎉".into()),
                ("signup", Value::Timestamp(late)),
                ("latitude", 1000.0.into()),
                ("longitude", (-1000.0).into()),
            ],
        ),
        (
            "cyd",
            vec![
                ("age", Value::Number(-0.0)),
                ("signup", Value::Timestamp(now)),
                ("latitude", 90.0.into()),
                ("longitude", 180.0.into()),
            ],
        ),
        ("dee", vec![]),
    ];
    for (id, attrs) in rows {
        a.upsert(id, attrs).unwrap();
    }
    a.tag("ada", "vip", early).unwrap();
    a.tag("bob", "interest:x", late).unwrap();
    a.tag("cyd", "vip", now).unwrap();
    let events = [
        ("ada", "purchase", early, 10.0, "SE"),
        ("ada", "purchase", now, -1e308, "é"),
        ("ada", "view", t("2024-03-31T01:59:59Z"), 0.0, ""),
        ("bob", "purchase", late, 1e308, "ΣΑΣ"),
        ("bob", "purchase", late, 1e308, "ΣΑΣ"),
        ("cyd", "view", t("2024-10-27T00:30:00Z"), 5.0, "Ada"),
        ("cyd", "purchase", t("2024-02-29T23:00:00Z"), 0.5, "SE"),
        ("cyd", "purchase", t("2023-12-31T23:00:00Z"), 36.0, "SE"),
        ("dee", "view", early, 1.0, "🎉"),
    ];
    for (id, name, at, amount, category) in events {
        a.track(
            id,
            Event::new(name, at)
                .value("amount", amount)
                .property("category", category),
        )
        .unwrap();
    }
    a.set_consent("ada", "email", true, early).unwrap();
    a.set_consent("cyd", "email", true, late).unwrap();
    a.declare_channel("sms").unwrap();
    let base = a.predicate("tag \"vip\"").unwrap();
    a.define_segment("base", base).unwrap();
    let derived = a.predicate("segment base or age > 30").unwrap();
    a.define_segment("derived", derived).unwrap();
    a
}

/// Parses and, if valid, evaluates `text` on `audience` at `now`, checking that every way of
/// asking agrees with the reference evaluator: counts, members, plans, one-profile answers,
/// and (when `image` is set) a defined segment and the image it is saved in; also the text and
/// JSON round trips. Refusals must be typed errors; anything else panics, which is what the
/// fuzzer reports.
pub fn evaluate_at(audience: &Audience, text: &str, now: Timestamp, image: bool) {
    let Ok(parsed) = segcore::Predicate::parse(text) else {
        return;
    };
    let again = segcore::Predicate::parse(&parsed.to_string()).expect("printed text parses");
    assert_eq!(again, parsed, "text round trip of {text}");
    let json = segcore::Predicate::from_json(&parsed.to_json()).expect("JSON reads back");
    assert_eq!(json, parsed, "JSON round trip of {text}");
    if audience.validate(&parsed).is_err() {
        return;
    }
    let expected = audience
        .member_slots_by_reference(&parsed, now)
        .expect("valid");
    assert_eq!(
        audience.member_slots(&parsed, now).unwrap(),
        expected,
        "matcher vs reference: {text} at {now}"
    );
    assert_eq!(audience.count(&parsed, now).unwrap(), expected.len() as u64);
    assert_eq!(
        audience.explain(&parsed, now).unwrap().root.actual,
        expected.len() as u64
    );
    for id in probe_ids() {
        let Some(slot) = audience.slot(&id) else {
            continue;
        };
        let is_member = expected.contains(&slot);
        assert_eq!(
            audience.matches(&id, &parsed, now).unwrap(),
            is_member,
            "matches({id}): {text} at {now}"
        );
    }
    if image {
        let mut defined = audience.clone();
        defined
            .define_segment("fuzzed", parsed.clone())
            .expect("a valid predicate defines");
        let reloaded = Audience::from_bytes(&defined.to_bytes()).expect("the image loads");
        let named = segcore::Predicate::segment("fuzzed");
        assert_eq!(reloaded.member_slots(&named, now).unwrap(), expected);
        for id in probe_ids() {
            let Some(slot) = audience.slot(&id) else {
                continue;
            };
            let is_member = expected.contains(&slot);
            let of = defined.segments_of(&id, now).unwrap();
            assert_eq!(of.contains(&"fuzzed".to_owned()), is_member, "{text}");
        }
    }
}

/// The ids of both audiences: the edge audience's four and the random one's.
fn probe_ids() -> impl Iterator<Item = String> {
    ["ada", "bob", "cyd", "dee"]
        .into_iter()
        .map(str::to_owned)
        .chain((0..RANDOM_PROFILES).map(|i| format!("p{i}")))
}

/// The most profiles [`random_audience`] makes.
const RANDOM_PROFILES: usize = 12;

/// Instants near the edges the language cares about: the first and last, the ordinary `now`
/// and a nanosecond either side, window starts, daylight-saving shifts.
const INSTANTS: &[&str] = &[
    "2024-03-31T12:00:00Z",
    "2024-03-31T11:59:59.999999999Z",
    "2024-03-31T12:00:00.000000001Z",
    "2024-03-24T12:00:00Z",
    "2024-03-01T00:00:00+01:00",
    "2024-03-31T00:59:59Z",
    "2024-03-31T01:00:00Z",
    "2024-10-27T00:30:00Z",
    "2024-02-29T23:00:00Z",
    "2023-12-31T23:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-30T22:00:00.999999999Z",
];

/// A random audience on the edge audience's schema, driven by bytes: up to
/// [`RANDOM_PROFILES`] profiles with values from edge pools, tags, events and consent at
/// edge instants, then some erasures, untags and unsets, and the same two segments.
pub fn random_audience(bytes: &[u8]) -> Audience {
    let mut c = Choices::new(bytes);
    let mut a = Audience::with_time_zone("Europe/Stockholm").unwrap();
    use segcore::AttrType::{List, Number, Timestamp as Time};
    for (name, ty) in [
        ("age", Number),
        ("country", segcore::AttrType::String),
        ("name", segcore::AttrType::String),
        ("signup", Time),
        ("interests", List),
        ("latitude", Number),
        ("longitude", Number),
    ] {
        a.declare_attribute(name, ty).unwrap();
    }
    for e in ["purchase", "view"] {
        a.declare_event_property(e, "amount", Number).unwrap();
        a.declare_event_property(e, "category", segcore::AttrType::String)
            .unwrap();
    }
    a.declare_tag_namespace("interest").unwrap();
    a.declare_channel("sms").unwrap();
    let instant = |c: &mut Choices<'_>| -> Timestamp { c.pick(INSTANTS).parse().unwrap() };
    let numbers = [
        -0.0, 0.0, 0.5, 17.0, 18.0, 36.0, -1.0, 1e308, -1e308, 90.0, 1000.0,
    ];
    let strings = ["SE", "", "é", "Ada", "ΣΑΣ", "🎉", "a\"b"];
    let profiles = 1 + c.below(RANDOM_PROFILES);
    for i in 0..profiles {
        let id = format!("p{i}");
        let mut attrs: Vec<(&str, Value)> = Vec::new();
        let present = c.byte();
        if present & 1 != 0 {
            attrs.push(("age", c.pick(&numbers).into()));
        }
        if present & 2 != 0 {
            attrs.push(("country", c.pick(&strings).into()));
        }
        if present & 4 != 0 {
            attrs.push(("name", c.pick(&strings).into()));
        }
        if present & 8 != 0 {
            attrs.push(("signup", Value::Timestamp(instant(&mut c))));
        }
        if present & 16 != 0 {
            let n = c.below(3);
            let items: Vec<String> = (0..n).map(|_| c.pick(&strings).to_owned()).collect();
            attrs.push(("interests", Value::List(items)));
        }
        if present & 32 != 0 {
            attrs.push(("latitude", c.pick(&[59.33, 90.0, -91.0, 0.0]).into()));
            attrs.push(("longitude", c.pick(&[18.07, 180.0, -1000.0, 0.0]).into()));
        }
        a.upsert(&id, attrs).unwrap();
        for _ in 0..c.below(3) {
            let tag = c.pick(&["vip", "interest:x", "interest:y", "new"]);
            a.tag(&id, tag, instant(&mut c)).unwrap();
        }
        for _ in 0..c.below(6) {
            let event = Event::new(c.pick(&["purchase", "view"]), instant(&mut c))
                .value("amount", c.pick(&numbers))
                .property("category", c.pick(&strings));
            a.track(&id, event).unwrap();
        }
        if present & 64 != 0 {
            let granted = c.byte() & 1 == 0;
            a.set_consent(&id, c.pick(&["email", "sms"]), granted, instant(&mut c))
                .unwrap();
        }
    }
    for _ in 0..c.below(3) {
        let id = format!("p{}", c.below(profiles));
        match c.below(3) {
            0 => drop(a.erase(&id).unwrap()),
            1 => drop(a.untag(&id, "vip")),
            _ => drop(a.unset(&id, "age")),
        }
    }
    let base = a.predicate("tag \"vip\"").unwrap();
    a.define_segment("base", base).unwrap();
    let derived = a.predicate("segment base or age > 30").unwrap();
    a.define_segment("derived", derived).unwrap();
    a
}

/// [`evaluate_at`] at every one of [`nows`], with the image round trip.
pub fn evaluate(audience: &Audience, text: &str) {
    for now in nows() {
        evaluate_at(audience, text, now, true);
    }
}
