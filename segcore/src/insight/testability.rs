//! Whether a segment can be tested: the sample an A/B test on it needs, the traffic it gets,
//! and how long the test would take. A segment too small to test cannot prove it is worth its
//! upkeep.

use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::insight::stats::sample_size_per_arm;
use crate::language::{Duration, DurationUnit, Predicate, Window};
use crate::matcher::Matcher;
use crate::validate::check_event;
use crate::Audience;

/// What a test should detect: a change of a rate from `baseline` by `minimum_effect`
/// (absolute), at significance `alpha` with `power`, across `arms` groups (control included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestPlan {
    /// The rate today, e.g. 0.10.
    pub baseline: f64,
    /// The smallest change worth detecting, absolute: 0.02 for two points.
    pub minimum_effect: f64,
    /// Significance level (two-sided), usually 0.05.
    pub alpha: f64,
    /// Power, usually 0.8.
    pub power: f64,
    /// Groups, control included: 2 for an A/B test.
    pub arms: u32,
}

impl TestPlan {
    /// An A/B test at α = 0.05 and power 0.8.
    pub fn ab(baseline: f64, minimum_effect: f64) -> TestPlan {
        TestPlan {
            baseline,
            minimum_effect,
            alpha: 0.05,
            power: 0.8,
            arms: 2,
        }
    }

    /// Profiles each arm needs ([`sample_size_per_arm`]).
    pub fn needed_per_arm(&self) -> Result<u64> {
        sample_size_per_arm(self.baseline, self.minimum_effect, self.alpha, self.power)
    }
}

/// Whether a segment can carry a test, and how long it would take.
#[derive(Debug, Clone, PartialEq)]
pub struct Testability {
    /// The segment, as given.
    pub segment: String,
    /// Its members now.
    pub members: u64,
    /// Profiles each arm needs.
    pub needed_per_arm: u64,
    /// Profiles the whole test needs (every arm).
    pub needed: u64,
    /// Members who did the traffic event in the look-back window.
    pub active: u64,
    /// Those, per day of the window: the members a test can expect to enrol each day.
    pub daily_traffic: f64,
    /// Days until the test has enrolled `needed` members at that pace; `None` when it never
    /// will (no traffic, or fewer members than it needs).
    pub days_needed: Option<f64>,
    /// Whether it finishes within the period asked about.
    pub reachable: bool,
}

impl Audience {
    /// Whether `segment` (a defined segment's name or a predicate's text) can carry the test
    /// `plan` within `period_days`: the sample it needs, and the traffic it gets — its members
    /// who did `traffic_event` in the last `lookback_days` before `now`, per day. The pace
    /// assumes the members who show up keep showing up at the rate of that window, one
    /// enrolment each; a segment with fewer members than the test needs never reaches it.
    ///
    /// ```
    /// use segcore::insight::TestPlan;
    /// use segcore::{Audience, Event};
    /// let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// let mut a = Audience::new();
    /// for i in 0..3_000 {
    ///     a.track(&format!("p{i}"), Event::new("visit", now))?;
    /// }
    /// let t = a.testability("did visit", &TestPlan::ab(0.10, 0.05), "visit", 30, 90.0, now)?;
    /// assert_eq!((t.needed_per_arm, t.needed), (686, 1372));
    /// assert_eq!(t.daily_traffic, 100.0);
    /// assert_eq!(t.days_needed, Some(13.72));
    /// assert!(t.reachable);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn testability(
        &self,
        segment: &str,
        plan: &TestPlan,
        traffic_event: &str,
        lookback_days: u32,
        period_days: f64,
        now: Timestamp,
    ) -> Result<Testability> {
        if plan.arms < 2 {
            return Err(Error::InvalidValue(format!(
                "a test needs at least 2 arms, not {}",
                plan.arms
            )));
        }
        if lookback_days == 0 {
            return Err(Error::InvalidValue(
                "the look-back window must be at least 1 day".to_owned(),
            ));
        }
        if period_days.is_nan() || period_days < 0.0 {
            return Err(Error::InvalidValue(format!(
                "the period must be a number of days, not {period_days}"
            )));
        }
        let needed_per_arm = plan.needed_per_arm()?;
        check_event(&self.schema, traffic_event)?;
        let members = self.member_sets(&[segment], now)?.remove(0);
        let recent = Predicate::Event {
            event: traffic_event.to_owned(),
            count: None,
            window: Some(Window::Last(Duration {
                amount: lookback_days,
                unit: DurationUnit::Day,
            })),
            filter: Vec::new(),
        };
        self.validate(&recent)?;
        let active = Matcher::new(self, now)
            .run(&recent)
            .0
            .and_cardinality(&members);
        let needed = needed_per_arm.saturating_mul(u64::from(plan.arms));
        let daily_traffic = active as f64 / f64::from(lookback_days);
        let days_needed = (members.cardinality() >= needed && daily_traffic > 0.0)
            .then(|| needed as f64 / daily_traffic);
        Ok(Testability {
            segment: segment.to_owned(),
            members: members.cardinality(),
            needed_per_arm,
            needed,
            active,
            daily_traffic,
            days_needed,
            reachable: days_needed.is_some_and(|d| d <= period_days),
        })
    }
}
