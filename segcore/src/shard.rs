//! Sharding decides which shard a customer belongs to when an audience is spread over several
//! processes or machines: a stable hash of the id, the same on every platform, version and
//! language binding, so that a customer's profile rows and event rows — read from different
//! files on different workers — meet in the same shard. Queries then combine exactly: counts
//! add, member lists concatenate, and the insight statistics merge (`insight::KpiParts`).

use crate::audience::Audience;
use crate::error::{Error, Result};
use crate::storage::SchemaImage;

/// The most shards an audience is split into.
pub const MAX_SHARDS: u32 = 65_536;

/// The shard of `id` among `shards` (0-based): FNV-1a (64-bit) of the id's UTF-8 bytes,
/// modulo `shards`. Stable: it never changes between versions, platforms or bindings.
///
/// ```
/// assert_eq!(segcore::shard_of("ada", 1), 0);
/// assert_eq!(segcore::shard_of("ada", 8), segcore::shard_of("ada", 8));
/// assert!(segcore::shard_of("c0000001", 16) < 16);
/// ```
pub fn shard_of(id: &str, shards: u32) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = id
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    (hash % u64::from(shards.max(1))) as u32
}

pub(crate) fn check_shards(shards: u32) -> Result<()> {
    if shards == 0 || shards > MAX_SHARDS {
        return Err(Error::InvalidValue(format!(
            "an audience splits into 1 to {MAX_SHARDS} shards, not {shards}"
        )));
    }
    Ok(())
}

impl Audience {
    /// The audience split into `shards` audiences by [`shard_of`] of each profile's id: each
    /// holds its profiles whole (attributes, tags, events, consent) and the same time zone,
    /// schema, segments and decisions. A count over this audience is the sum of the shards'
    /// counts; its members are the union of theirs.
    ///
    /// ```
    /// let shop = segcore::sample::SampleShop::new(300);
    /// let audience = shop.build();
    /// let shards = audience.split(3)?;
    /// let vips = audience.predicate(r#"tag "vip" and did purchase"#)?;
    /// let total: u64 = shards.iter().map(|s| s.count(&vips, shop.now).unwrap()).sum();
    /// assert_eq!(total, audience.count(&vips, shop.now)?);
    /// assert_eq!(shards.iter().map(|s| s.len()).sum::<usize>(), 300);
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn split(&self, shards: u32) -> Result<Vec<Audience>> {
        check_shards(shards)?;
        (0..shards)
            .map(|k| Audience::from_bytes(&self.image_of(None, |id| shard_of(id, shards) == k)))
            .collect()
    }
}

impl Audience {
    /// The schema's declarations as JSON (attributes and their types, events and their
    /// properties' types, tag namespaces, channels), for [`Audience::declare_schema_json`]
    /// on the other shards.
    pub fn schema_json(&self) -> String {
        serde_json::to_string(&SchemaImage::of(self.schema()))
            .expect("declarations always serialize")
    }

    /// Declares everything [`Audience::schema_json`] of another shard lists. A type that
    /// contradicts this audience's is an [`Error::Schema`] (the shards disagree about the
    /// data), and nothing is declared.
    ///
    /// ```
    /// let mut a = segcore::Audience::new();
    /// let mut b = segcore::Audience::new();
    /// a.track("ada", segcore::Event::new("refund", "2024-01-01T00:00:00Z".parse().unwrap()).value("amount", 5.0))?;
    /// b.declare_schema_json(&a.schema_json())?;
    /// assert!(b.predicate("sum(refund.amount) > 1").is_ok());
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn declare_schema_json(&mut self, json: &str) -> Result<()> {
        let d: SchemaImage = serde_json::from_str(json)
            .map_err(|e| Error::InvalidValue(format!("schema declarations: {e}")))?;
        // Checked whole first, so a conflict declares nothing.
        for (name, ty) in &d.attributes {
            self.schema.check_attribute(name, *ty)?;
        }
        for (event, props) in &d.events {
            for (key, ty) in props {
                self.schema.check_event_property(event, key, *ty)?;
            }
        }
        d.declare_into(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a() {
        // Published FNV-1a 64 test vectors.
        let fnv = |s: &str| {
            s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            })
        };
        assert_eq!(fnv(""), 0xcbf29ce484222325);
        assert_eq!(fnv("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv("foobar"), 0x85944171f73967e8);
        assert_eq!(shard_of("foobar", 7), (0x85944171f73967e8_u64 % 7) as u32);
        assert!(check_shards(0).is_err());
        assert!(check_shards(MAX_SHARDS + 1).is_err());
    }
}
