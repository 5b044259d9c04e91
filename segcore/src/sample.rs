//! A seeded, deterministic sample shop: customers with demographic, geographic and source
//! attributes, interest tags, consent, and three years of page views, carts, purchases and
//! email opens. The examples, benchmarks and tests share it, so they all see the same data.
//!
//! The shop is shaped like a real one rather than like our indexes: its history is longer than
//! every window the segments ask about (7, 30, 90 and 365 days, calendar periods), the number of
//! events per customer is long-tailed (log-normal: most customers do a few things, a few do
//! thousands), and each customer's events arrive in no time order, as a backfill or a
//! late-delivering source sends them.
//!
//! ```
//! let shop = segcore::sample::SampleShop::new(200);
//! let audience = shop.build();
//! assert_eq!(audience.len(), 200);
//! let again = shop.build();
//! let p = audience.predicate(r#"tag "vip""#).unwrap();
//! assert_eq!(audience.count(&p, shop.now).unwrap(), again.count(&p, shop.now).unwrap());
//! ```

use jiff::Timestamp;

use crate::audience::Audience;
use crate::error::{Error, Result};
use crate::profile::Event;
use crate::value::Value;

/// Parameters of a generated shop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleShop {
    /// Number of customers.
    pub customers: usize,
    /// Days of event history before `now`.
    pub days: u32,
    /// Seed of the random generator: the same seed gives the same shop.
    pub seed: u64,
    /// The shop's "now": the last instant with events.
    pub now: Timestamp,
    /// Mean number of events per customer.
    pub events_per_customer: u32,
    /// Which attributes and consent are written.
    pub detail: ProfileDetail,
}

/// How much of each customer a [`SampleShop`] writes. The random draws are the same either way,
/// so a customer's country, age and tags do not depend on the detail chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileDetail {
    /// Every attribute (demographic, geographic, source, contact, interests) and consent.
    Full,
    /// Only `country`, `age` and the tags: what the segment benchmarks read, at the least
    /// memory, for audiences of tens of millions.
    Minimal,
}

/// Country, weight, and a city centre (latitude, longitude).
const COUNTRIES: &[(&str, u32, f64, f64)] = &[
    ("SE", 35, 59.3293, 18.0686),
    ("DK", 15, 55.6761, 12.5683),
    ("NO", 15, 59.9139, 10.7522),
    ("FI", 10, 60.1699, 24.9384),
    ("DE", 15, 52.5200, 13.4050),
    ("US", 10, 40.7128, -74.0060),
];
const PLANS: &[&str] = &["free", "plus", "pro"];
const SOURCES: &[&str] = &["google", "facebook", "newsletter", "tiktok", "direct"];
const CAMPAIGNS: &[&str] = &["spring_sale", "black_friday", "brand", "retargeting"];
const DOMAINS: &[&str] = &["gmail.com", "outlook.com", "proton.me", "example.se"];
const INTERESTS: &[&str] = &["running", "hiking", "yoga", "cycling", "fashion", "tech"];
const CATEGORIES: &[&str] = &["shoes", "apparel", "gear", "accessories"];

impl SampleShop {
    /// A shop of `customers` with three years of history, seed 42, `now` =
    /// 2026-11-01T12:00:00Z.
    pub fn new(customers: usize) -> SampleShop {
        SampleShop {
            customers,
            days: HISTORY_DAYS,
            seed: 42,
            now: "2026-11-01T12:00:00Z".parse().expect("a valid instant"),
            events_per_customer: 24,
            detail: ProfileDetail::Full,
        }
    }

    /// [`SampleShop::build`], after checking the sizes against
    /// [`limits`](crate::limits) (`MAX_SAMPLE_CUSTOMERS`, `MAX_SAMPLE_EVENTS_PER_CUSTOMER`,
    /// `MAX_SAMPLE_EVENTS`): what the bindings call, so that a size typed wrong (or wrapped
    /// from a negative number) is an error rather than hours of work.
    ///
    /// ```
    /// use segcore::sample::SampleShop;
    /// assert!(SampleShop::new(usize::MAX).try_build().is_err());
    /// assert_eq!(SampleShop::new(10).try_build()?.len(), 10);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn try_build(&self) -> Result<Audience> {
        use crate::limits::{
            MAX_SAMPLE_CUSTOMERS, MAX_SAMPLE_EVENTS, MAX_SAMPLE_EVENTS_PER_CUSTOMER,
        };
        if self.customers > MAX_SAMPLE_CUSTOMERS {
            return Err(Error::InvalidValue(format!(
                "a sample shop has at most {MAX_SAMPLE_CUSTOMERS} customers, not {}",
                self.customers
            )));
        }
        if self.events_per_customer > MAX_SAMPLE_EVENTS_PER_CUSTOMER {
            return Err(Error::InvalidValue(format!(
                "a sample shop has at most {MAX_SAMPLE_EVENTS_PER_CUSTOMER} events per customer, \
                 not {}",
                self.events_per_customer
            )));
        }
        let events = self.customers as u64 * u64::from(self.events_per_customer);
        if events > MAX_SAMPLE_EVENTS {
            return Err(Error::InvalidValue(format!(
                "a sample shop has at most {MAX_SAMPLE_EVENTS} events in all, not {events}"
            )));
        }
        Ok(self.build())
    }

    /// Builds a new audience (time zone Europe/Stockholm) holding the shop.
    pub fn build(&self) -> Audience {
        let mut audience = Audience::with_time_zone("Europe/Stockholm").expect("bundled zone");
        self.populate(&mut audience);
        audience
    }

    /// Writes the shop's customers into `audience`.
    pub fn populate(&self, audience: &mut Audience) {
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let now_s = self.now.as_second();
        let history_s = i64::from(self.days) * 86_400;
        let at = |s: i64| Timestamp::from_second(s).expect("in range");
        for i in 0..self.customers {
            let id = format!("c{i:07}");
            let (country, lat, lon) = weighted_country(&mut rng);
            let interests: Vec<String> = INTERESTS
                .iter()
                .filter(|_| rng.u32(0..100) < 25)
                .map(|s| (*s).to_owned())
                .collect();
            let signed_up = now_s - rng.i64(0..3 * 365 * 86_400);
            let attributes: Vec<(&str, Value)> = vec![
                ("country", country.into()),
                ("age", Value::Number(f64::from(rng.u32(18..80)))),
                ("plan", pick(&mut rng, PLANS).into()),
                ("signed_up_at", at(signed_up).into()),
                ("latitude", Value::Number(lat + rng.f64() - 0.5)),
                ("longitude", Value::Number(lon + rng.f64() - 0.5)),
                ("utm_source", pick(&mut rng, SOURCES).into()),
                ("utm_campaign", pick(&mut rng, CAMPAIGNS).into()),
                ("email", format!("{id}@{}", pick(&mut rng, DOMAINS)).into()),
                ("newsletter", Value::Bool(rng.bool())),
                ("interests", Value::List(interests.clone())),
            ];
            let attributes = attributes.into_iter().filter(|(name, _)| {
                self.detail == ProfileDetail::Full || matches!(*name, "country" | "age")
            });
            audience
                .upsert(&id, attributes)
                .expect("sample attributes fit the schema");

            let tag_time = |rng: &mut fastrand::Rng| at(now_s - rng.i64(0..history_s));
            for interest in &interests {
                let t = tag_time(&mut rng);
                audience
                    .tag(&id, &format!("interest:{interest}"), t)
                    .expect("valid tag");
            }
            for (tag, percent) in [
                ("vip", 5),
                ("churn_risk", 8),
                ("quiz:budget", 15),
                ("quiz:premium", 15),
            ] {
                if rng.u32(0..100) < percent {
                    let t = tag_time(&mut rng);
                    audience.tag(&id, tag, t).expect("valid tag");
                }
            }
            let email = rng.u32(0..100) < 70;
            let sms = rng.u32(0..100) < 30;
            if self.detail == ProfileDetail::Full {
                audience
                    .set_consent(&id, "email", email, at(signed_up))
                    .expect("valid consent");
                if sms {
                    audience
                        .set_consent(&id, "sms", true, at(signed_up))
                        .expect("valid consent");
                }
            }

            let activity = activity(&mut rng, self.events_per_customer);
            for _ in 0..activity {
                let t = at(now_s - rng.i64(0..history_s));
                let roll = rng.u32(0..100);
                let event = if roll < 60 {
                    Event::new("page_view", t).property("category", pick(&mut rng, CATEGORIES))
                } else if roll < 75 {
                    Event::new("add_to_cart", t).property("category", pick(&mut rng, CATEGORIES))
                } else if roll < 85 {
                    let amount = (10.0 + rng.f64() * rng.f64() * 490.0).round();
                    Event::new("purchase", t)
                        .value("amount", amount)
                        .property("category", pick(&mut rng, CATEGORIES))
                        .property("sku", format!("S{:03}", rng.u32(0..200)))
                } else {
                    Event::new("email_open", t).property("campaign", pick(&mut rng, CAMPAIGNS))
                };
                audience
                    .track(&id, event)
                    .expect("sample events fit the schema");
            }
        }
    }
}

/// The segments a marketer writes most, as (kind, name, definition): every construct of the
/// language on the sample shop's data. The example, the segment table benchmark and the tests
/// share them.
pub const SEGMENTS: &[(&str, &str, &str)] = &[
    (
        "demographic",
        "young_nordics",
        r#"country in ["SE", "DK", "NO", "FI"] and age between 18 and 29"#,
    ),
    (
        "psychographic",
        "outdoor_people",
        r#"tag any ["interest:hiking", "interest:running"] or interests contains "cycling""#,
    ),
    (
        "psychographic",
        "premium_quiz",
        r#"tag "quiz:premium" and not tag "quiz:budget""#,
    ),
    (
        "geographic",
        "near_stockholm",
        "within 50km of (59.33, 18.07)",
    ),
    (
        "behavioural",
        "repeat_shoe_buyers",
        r#"did purchase at least 2 times in last 90d where category == "shoes""#,
    ),
    (
        "behavioural",
        "cart_abandoners",
        "did add_to_cart in last 7d and not did purchase in last 7d",
    ),
    (
        "behavioural",
        "lapsed",
        "did purchase and last(purchase) before 90d ago",
    ),
    (
        "value",
        "big_spenders",
        "sum(purchase.amount in last 365d) > 1000",
    ),
    ("value", "high_basket", "avg(purchase.amount) >= 200"),
    (
        "source",
        "tiktok_black_friday",
        r#"utm_source == "tiktok" and utm_campaign == "black_friday""#,
    ),
    (
        "lifecycle",
        "new_this_month",
        "signed_up_at within this month",
    ),
    ("consent", "emailable", "consent email and email exists"),
    (
        "nested",
        "win_back",
        "segment lapsed and segment emailable and not tag \"churn_risk\"",
    ),
    (
        "nested",
        "vip_offer",
        r#"(tag "vip" or segment big_spenders) and segment emailable"#,
    ),
];

/// Days of history in [`SampleShop::new`]: three years, longer than every window the segments
/// ask about.
pub const HISTORY_DAYS: u32 = 3 * 365;

/// The spread (σ) of the log-normal number of events per customer: the median customer does a
/// third of the mean, one in a million about 400 times it.
const ACTIVITY_SPREAD: f64 = 1.5;

/// A customer's number of events: log-normal with mean `mean`, capped at a thousand times it.
fn activity(rng: &mut fastrand::Rng, mean: u32) -> u32 {
    // Box–Muller: a standard normal draw from two uniform ones (the first kept off zero).
    let (u, v) = (1.0 - rng.f64(), rng.f64());
    let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
    let factor = (ACTIVITY_SPREAD * z - ACTIVITY_SPREAD * ACTIVITY_SPREAD / 2.0).exp();
    (f64::from(mean) * factor.min(1000.0)).round() as u32
}

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(0..items.len())]
}

fn weighted_country(rng: &mut fastrand::Rng) -> (&'static str, f64, f64) {
    let total: u32 = COUNTRIES.iter().map(|c| c.1).sum();
    let mut roll = rng.u32(0..total);
    for &(code, weight, lat, lon) in COUNTRIES {
        if roll < weight {
            return (code, lat, lon);
        }
        roll -= weight;
    }
    unreachable!("the roll is below the total weight")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shop is shaped like a real one: history longer than a year and long-tailed
    /// activity. (Arrival order: each event's time is drawn at random, so a customer's events
    /// are tracked in no time order.)
    #[test]
    fn the_shop_has_long_histories_long_tails_and_late_events() {
        let shop = SampleShop::new(5_000);
        let audience = shop.build();
        let year_ago = shop.now.as_second() - 365 * 86_400;
        let mut counts = Vec::new();
        let mut older_than_a_year = 0;
        for i in 0..shop.customers {
            let profile = audience.profile(&format!("c{i:07}")).expect("a customer");
            counts.push(profile.events.len());
            older_than_a_year += profile
                .events
                .iter()
                .filter(|e| e.at.as_second() < year_ago)
                .count();
        }
        let total: usize = counts.iter().sum();
        // Two thirds of three years' events are older than the longest window asked about.
        assert!(
            older_than_a_year * 2 > total,
            "{older_than_a_year} of {total}"
        );
        counts.sort_unstable();
        let mean = total as f64 / counts.len() as f64;
        let median = counts[counts.len() / 2] as f64;
        let top = *counts.last().expect("customers") as f64;
        assert!((mean / 24.0 - 1.0).abs() < 0.15, "mean {mean}");
        assert!(median < mean / 2.0, "median {median}, mean {mean}");
        assert!(
            top > 20.0 * mean,
            "the busiest has {top}, the mean is {mean}"
        );
        // The draw itself: some customers do nothing, some hundreds of times the mean.
        let mut rng = fastrand::Rng::with_seed(1);
        let draws: Vec<u32> = (0..10_000).map(|_| activity(&mut rng, 24)).collect();
        assert!(draws.contains(&0) && draws.iter().any(|&n| n > 500));
    }
}
