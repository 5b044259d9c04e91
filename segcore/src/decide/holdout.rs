//! The holdout draw: whether a profile is in a decision's control group, from a hash of the
//! decision's name and the profile's id alone, so the same profile is held out in every run,
//! process and binding, and moving the share only adds or removes profiles at the edge.
//!
//! The rule, for reproducing it elsewhere: FNV-1a (64-bit) over the UTF-8 bytes of the
//! decision name, one byte `0xFF` (never part of UTF-8), and the profile id; then the
//! SplitMix64 finalizer; the top 53 bits as a fraction of 2^53; held out when that fraction is
//! below the share.

/// The fraction in [0, 1) the draw gives this profile for this decision.
pub fn holdout_fraction(decision: &str, profile: &str) -> f64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for &b in decision
        .as_bytes()
        .iter()
        .chain([0xFF].iter())
        .chain(profile.as_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    // SplitMix64's finalizer spreads FNV's weak high bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether the profile is in the decision's holdout at this share.
pub fn in_holdout(decision: &str, profile: &str, share: f64) -> bool {
    holdout_fraction(decision, profile) < share
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draw_is_fixed_and_even() {
        // Fixed values: the same in every binding (the corpus checks those too).
        assert_eq!(holdout_fraction("", ""), holdout_fraction("", ""));
        let n = 100_000;
        let held = (0..n)
            .filter(|i| in_holdout("home_hero", &format!("c{i:07}"), 0.1))
            .count();
        let share = held as f64 / n as f64;
        assert!((0.097..0.103).contains(&share), "{share}");
        // A larger share keeps everyone a smaller one held out.
        for i in 0..1000 {
            let id = format!("p{i}");
            if in_holdout("d", &id, 0.2) {
                assert!(in_holdout("d", &id, 0.3));
            }
        }
        assert!(!in_holdout("d", "x", 0.0));
        assert!(in_holdout("d", "x", 1.0));
    }
}
