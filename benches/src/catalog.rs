//! Generated catalogs of realistic segment shapes over the sample shop, for the live and
//! reverse-matching benchmarks: mostly a selective attribute or tag beside an event window, a
//! count, an aggregate, a lifecycle date or consent, with the windows marketers reuse (7 to
//! 365 days), so segments share conditions as real catalogs do.

const COUNTRIES: &[&str] = &["SE", "DK", "NO", "FI", "DE", "US"];
const PLANS: &[&str] = &["free", "plus", "pro"];
const INTERESTS: &[&str] = &["running", "hiking", "yoga", "cycling", "fashion", "tech"];
const SOURCES: &[&str] = &["google", "facebook", "newsletter", "tiktok", "direct"];
const CAMPAIGNS: &[&str] = &["spring_sale", "black_friday", "brand", "retargeting"];
const CATEGORIES: &[&str] = &["shoes", "apparel", "gear", "accessories"];
const EVENTS: &[&str] = &["page_view", "add_to_cart", "purchase", "email_open"];
const DAYS: &[u32] = &[7, 14, 30, 60, 90, 180, 365];

/// `n` segments as (name, definition), the same for the same `seed`. Every one validates
/// against a [`SampleShop`](segcore::sample::SampleShop) with full detail.
pub fn realistic_catalog(n: usize, seed: u64) -> Vec<(String, String)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut pick = |items: &[&'static str]| items[rng.usize(0..items.len())];
    let mut out = Vec::with_capacity(n);
    let mut r = fastrand::Rng::with_seed(seed ^ 0x5eed);
    for i in 0..n {
        let country = pick(COUNTRIES);
        let other = pick(COUNTRIES);
        let plan = pick(PLANS);
        let interest = pick(INTERESTS);
        let event = pick(EVENTS);
        let category = pick(CATEGORIES);
        let source = pick(SOURCES);
        let campaign = pick(CAMPAIGNS);
        let days = DAYS[r.usize(0..DAYS.len())];
        let age = 18 + r.u32(0..50);
        let (shape, text) = match r.u32(0..100) {
            0..=14 => (
                "demo",
                format!(
                    r#"country == "{country}" and age between {age} and {}"#,
                    age + 10
                ),
            ),
            15..=24 => (
                "plan",
                format!(r#"country in ["{country}", "{other}"] and plan == "{plan}""#),
            ),
            25..=34 => (
                "interest",
                format!(r#"tag "interest:{interest}" and country == "{country}""#),
            ),
            35..=49 => (
                "active",
                format!(r#"did {event} in last {days}d and country == "{country}""#),
            ),
            50..=54 => (
                "abandon",
                format!(
                    r#"country == "{country}" and did add_to_cart in last {days}d and not did purchase in last {days}d"#
                ),
            ),
            55..=64 => (
                "repeat",
                format!(
                    r#"plan == "{plan}" and did purchase at least {} times in last {days}d where category == "{category}""#,
                    2 + r.u32(0..3)
                ),
            ),
            65..=74 => (
                "value",
                format!(
                    r#"country == "{country}" and sum(purchase.amount in last {days}d) > {}"#,
                    100 * (1 + r.u32(0..10))
                ),
            ),
            75..=84 => (
                "source",
                format!(r#"utm_source == "{source}" and utm_campaign == "{campaign}""#),
            ),
            85..=89 => (
                "new",
                format!(r#"plan == "{plan}" and signed_up_at within last {days}d"#),
            ),
            90..=94 => (
                "lapsed",
                format!(
                    r#"tag "interest:{interest}" and did purchase and last(purchase) before {days}d ago"#
                ),
            ),
            _ => (
                "emailable",
                format!(r#"consent email and country == "{country}" and newsletter == true"#),
            ),
        };
        out.push((format!("s{i:07}_{shape}"), text));
    }
    out
}

/// `n` pure attribute expressions, as ad-targeting indexes are benchmarked on: conjunctions of
/// two to four value, tag and consent tests over the sample shop (no events, no ranges).
pub fn attribute_catalog(n: usize, seed: u64) -> Vec<(String, String)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n)
        .map(|i| {
            let mut parts: Vec<String> = Vec::new();
            let wanted = 2 + rng.usize(0..3);
            let mut kinds: Vec<u32> = (0..8).collect();
            rng.shuffle(&mut kinds);
            for kind in kinds.into_iter().take(wanted) {
                let pick = |rng: &mut fastrand::Rng, items: &[&'static str]| {
                    items[rng.usize(0..items.len())]
                };
                parts.push(match kind {
                    0 => format!(r#"country == "{}""#, pick(&mut rng, COUNTRIES)),
                    1 => format!(
                        r#"country in ["{}", "{}"]"#,
                        pick(&mut rng, COUNTRIES),
                        pick(&mut rng, COUNTRIES)
                    ),
                    2 => format!(r#"plan == "{}""#, pick(&mut rng, PLANS)),
                    3 => format!(r#"utm_source == "{}""#, pick(&mut rng, SOURCES)),
                    4 => format!(r#"utm_campaign == "{}""#, pick(&mut rng, CAMPAIGNS)),
                    5 => format!("newsletter == {}", rng.bool()),
                    6 => format!(r#"tag "interest:{}""#, pick(&mut rng, INTERESTS)),
                    _ => format!(r#"interests contains "{}""#, pick(&mut rng, INTERESTS)),
                });
            }
            (format!("a{i:07}"), parts.join(" and "))
        })
        .collect()
}

/// How many stores [`scoped_catalog`] spreads `n` segments over: a hundred segments each.
pub fn stores_for(n: usize) -> usize {
    n.div_ceil(100).max(1)
}

/// The shapes of [`realistic_catalog`], each scoped to one store (`store == "st…"`), as large
/// catalogs are: a million segments exist when every store, market or brand keeps its own
/// hundred. Customers need a `store` attribute among [`stores_for`]`(n)` values.
pub fn scoped_catalog(n: usize, seed: u64) -> Vec<(String, String)> {
    let stores = stores_for(n);
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x570e);
    realistic_catalog(n, seed)
        .into_iter()
        .map(|(name, text)| {
            let store = rng.usize(0..stores);
            (name, format!(r#"store == "st{store}" and {text}"#))
        })
        .collect()
}
