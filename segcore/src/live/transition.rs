//! A profile entering or leaving a segment, and when.

use jiff::Timestamp;

/// Whether a profile entered or left a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The profile became a member.
    Entered,
    /// The profile stopped being a member.
    Left,
}

impl Direction {
    /// `entered` or `left`, as the bindings spell it.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Entered => "entered",
            Direction::Left => "left",
        }
    }
}

/// A profile entering or leaving a segment at an instant: the moment of the write that caused
/// it, or the exact moment time made it happen (not the moment the clock was advanced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The profile's external id.
    pub profile: String,
    /// The profile's slot.
    pub slot: u32,
    /// The segment's name.
    pub segment: String,
    /// Entered or left.
    pub direction: Direction,
    /// When it happened.
    pub at: Timestamp,
}

impl Transition {
    pub(crate) fn new(
        profile: &str,
        slot: u32,
        segment: &str,
        direction: Direction,
        at: Timestamp,
    ) -> Self {
        Transition {
            profile: profile.to_owned(),
            slot,
            segment: segment.to_owned(),
            direction,
            at,
        }
    }
}

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} at {}",
            self.profile,
            self.direction.name(),
            self.segment,
            self.at
        )
    }
}
