//! The bounds segcore puts on what it is given, in one place so that the core, both bindings
//! and the docs agree on them. Anything outside is refused with a typed error before it is
//! stored or evaluated, so that no later computation (calendar arithmetic, a conversion to a
//! Python `datetime` or a JavaScript `Date`) can meet a value it cannot represent.
//!
//! ```
//! use segcore::{limits, Audience, Error};
//!
//! let mut audience = Audience::new();
//! let too_early = jiff::Timestamp::from_second(-62_135_596_801).unwrap(); // 0000-12-31T23:59:59Z
//! let err = audience.tag("ada", "vip", too_early).unwrap_err();
//! assert!(matches!(err, Error::InvalidValue(_)));
//! assert!(audience.is_empty(), "a refused write changes nothing");
//! audience.tag("ada", "vip", limits::EARLIEST_INSTANT)?;
//! # Ok::<(), segcore::Error>(())
//! ```

use jiff::Timestamp;

use crate::error::{Error, Result};

pub use crate::audience::MAX_EVENT_PROPERTIES;
pub use crate::catalog::MAX_EXPANDED_DEPTH;
pub use crate::language::MAX_DEPTH;

/// The earliest instant segcore stores or evaluates at: 0001-01-01T00:00:00Z, the first
/// instant a Python `datetime` can hold.
pub const EARLIEST_INSTANT: Timestamp = Timestamp::constant(-62_135_596_800, 0);

/// The latest instant segcore stores or evaluates at: 9999-12-30T22:00:00.999999999Z, the
/// last one jiff represents (it keeps a day's margin so that every instant has a civil time
/// in every zone).
pub const LATEST_INSTANT: Timestamp = Timestamp::MAX;

/// The longest span a duration (`30d`) or a calendar window (`last 3 calendar months`) may
/// reach: 10,000 Gregorian years of 365.2425 days, which covers every storable instant from
/// any other.
pub const MAX_SPAN_DAYS: u32 = 3_652_425;

/// The most customers [`SampleShop`](crate::sample::SampleShop) generates.
pub const MAX_SAMPLE_CUSTOMERS: usize = 50_000_000;

/// The most events per customer, on average, [`SampleShop`](crate::sample::SampleShop)
/// generates.
pub const MAX_SAMPLE_EVENTS_PER_CUSTOMER: u32 = 1_000;

/// The most events in all [`SampleShop`](crate::sample::SampleShop) generates
/// (customers × events per customer).
pub const MAX_SAMPLE_EVENTS: u64 = 500_000_000;

/// Refuses an instant outside [`EARLIEST_INSTANT`]..=[`LATEST_INSTANT`]; `what` names it.
pub(crate) fn check_instant(at: Timestamp, what: &str) -> Result<()> {
    if (EARLIEST_INSTANT..=LATEST_INSTANT).contains(&at) {
        Ok(())
    } else {
        Err(Error::InvalidValue(format!(
            "{what} {at} is outside the supported range of instants, \
             {EARLIEST_INSTANT} to {LATEST_INSTANT}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_the_first_and_last_instants_of_years_1_and_9999() {
        assert_eq!(EARLIEST_INSTANT.to_string(), "0001-01-01T00:00:00Z");
        assert_eq!(LATEST_INSTANT.to_string(), "9999-12-30T22:00:00.999999999Z");
        assert!(check_instant(EARLIEST_INSTANT, "t").is_ok());
        assert!(check_instant(LATEST_INSTANT, "t").is_ok());
        let before = EARLIEST_INSTANT - jiff::SignedDuration::from_nanos(1);
        assert!(check_instant(before, "t").is_err());
    }
}
