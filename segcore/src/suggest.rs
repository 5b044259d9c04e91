//! "Did you mean …?": the nearest known name to a mistyped one.

/// The candidate closest to `name` by edit distance (transpositions count once), if it is
/// close enough to be a plausible typo: at most a third of the name's length, and at least 1.
/// A candidate equal but for case always wins.
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = name.to_lowercase();
    let length = lower.chars().count();
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let candidate = c.to_lowercase();
        if candidate == lower {
            return Some(c.to_owned());
        }
        // The distance is at least the difference in length: skip what cannot be close
        // enough or beat the best so far (it keeps a long mistyped name from costing a
        // full comparison with every candidate).
        let floor = length.abs_diff(candidate.chars().count());
        if floor > limit || best.is_some_and(|(bd, _)| floor >= bd) {
            continue;
        }
        let d = strsim::damerau_levenshtein(&lower, &candidate);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn finds_typos_and_ignores_strangers() {
        let names = ["country", "city", "age", "email"];
        assert_eq!(nearest("contry", names).as_deref(), Some("country"));
        assert_eq!(nearest("emial", names).as_deref(), Some("email"));
        assert_eq!(nearest("AGE", names).as_deref(), Some("age"));
        assert_eq!(nearest("lifetime_value", names), None);
        assert_eq!(nearest("x", []), None);
    }
}
