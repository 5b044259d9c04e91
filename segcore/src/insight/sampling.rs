//! A random sample of a segment's members, to read a few profiles rather than all of them.

use jiff::Timestamp;

use crate::audience::Audience;
use crate::error::Result;
use crate::language::Predicate;

impl Audience {
    /// Up to `n` members of `predicate` at `now`, drawn uniformly without replacement and
    /// returned in slot order. The same `seed` on the same audience gives the same sample.
    ///
    /// ```
    /// let shop = segcore::sample::SampleShop::new(500);
    /// let audience = shop.build();
    /// let vips = audience.predicate(r#"tag "vip""#)?;
    /// let some = audience.sample_members(&vips, shop.now, 5, 7)?;
    /// assert_eq!(some.len(), 5);
    /// assert_eq!(some, audience.sample_members(&vips, shop.now, 5, 7)?);
    /// assert!(some.iter().all(|id| audience.matches(id, &vips, shop.now).unwrap()));
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn sample_members(
        &self,
        predicate: &Predicate,
        now: Timestamp,
        n: usize,
        seed: u64,
    ) -> Result<Vec<String>> {
        let mut slots = self.member_slots(predicate, now)?;
        let mut rng = fastrand::Rng::with_seed(seed);
        // A partial Fisher–Yates shuffle: the first `n` places get a uniform sample.
        let n = n.min(slots.len());
        for i in 0..n {
            let j = rng.usize(i..slots.len());
            slots.swap(i, j);
        }
        slots.truncate(n);
        slots.sort_unstable();
        Ok(slots
            .into_iter()
            .map(|s| {
                self.store
                    .record(s)
                    .expect("a member is live")
                    .id
                    .to_string()
            })
            .collect())
    }
}
