//! Segment sizes and overlaps, counted on the member bitmaps: one matcher run per segment, then
//! one intersection count per pair.

use jiff::Timestamp;

use crate::error::Result;
use crate::index::Bitmap;
use crate::limits::check_instant;
use crate::matcher::Matcher;
use crate::Audience;

/// One segment's size at an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSize {
    /// The segment's name.
    pub name: String,
    /// Its members.
    pub members: u64,
    /// Its members as a share of the live profiles (0 in an empty audience).
    pub share: f64,
}

/// How a list of segments overlap: sizes and every pair's intersection.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    /// The segments, as given.
    pub names: Vec<String>,
    /// Members of each.
    pub sizes: Vec<u64>,
    /// `intersections[i][j]`: profiles in both segment `i` and segment `j` (the diagonal is
    /// each size).
    pub intersections: Vec<Vec<u64>>,
}

impl Overlap {
    /// Jaccard similarity of segments `i` and `j`: shared members over members of either
    /// (`None` when both are empty).
    pub fn jaccard(&self, i: usize, j: usize) -> Option<f64> {
        let both = self.intersections[i][j];
        let either = self.sizes[i] + self.sizes[j] - both;
        (either > 0).then(|| both as f64 / either as f64)
    }

    /// The share of segment `i`'s members also in segment `j` (`None` when `i` is empty).
    pub fn share_also_in(&self, i: usize, j: usize) -> Option<f64> {
        (self.sizes[i] > 0).then(|| self.intersections[i][j] as f64 / self.sizes[i] as f64)
    }
}

impl Audience {
    /// The members of each segment (a defined segment's name or a predicate's text) at `now`,
    /// with one matcher, so segments they share are evaluated once.
    pub(crate) fn member_sets(&self, segments: &[&str], now: Timestamp) -> Result<Vec<Bitmap>> {
        check_instant(now, "`now`")?;
        let predicates = segments
            .iter()
            .map(|s| self.query(s))
            .collect::<Result<Vec<_>>>()?;
        let matcher = Matcher::new(self, now);
        Ok(predicates.iter().map(|p| matcher.run(p).0).collect())
    }

    /// The size and share of every segment in the catalog at `now`, in name order.
    ///
    /// ```
    /// # let mut a = segcore::Audience::new();
    /// # let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// a.upsert("ada", [("country", "SE".into())])?;
    /// a.upsert("bo", [("country", "DK".into())])?;
    /// a.define_segment("swedes", a.predicate(r#"country == "SE""#)?)?;
    /// let sizes = a.sizes(now)?;
    /// assert_eq!((sizes[0].name.as_str(), sizes[0].members, sizes[0].share), ("swedes", 1, 0.5));
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn sizes(&self, now: Timestamp) -> Result<Vec<SegmentSize>> {
        let names: Vec<&str> = self.catalog.iter().map(|(name, _)| name).collect();
        let sets = self.member_sets(&names, now)?;
        let live = self.len() as f64;
        Ok(names
            .into_iter()
            .zip(sets)
            .map(|(name, set)| {
                let members = set.cardinality();
                SegmentSize {
                    name: name.to_owned(),
                    members,
                    share: if live > 0.0 {
                        members as f64 / live
                    } else {
                        0.0
                    },
                }
            })
            .collect())
    }

    /// How `segments` (names of defined segments or predicates' text) overlap at `now`:
    /// intersection counts, from which [`Overlap::jaccard`] and [`Overlap::share_also_in`].
    ///
    /// ```
    /// # let mut a = segcore::Audience::new();
    /// # let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    /// for (id, tags) in [("ada", vec!["vip", "new"]), ("bo", vec!["vip"]), ("cy", vec!["new"])] {
    ///     for t in tags { a.tag(id, t, now)?; }
    /// }
    /// let o = a.overlap(&[r#"tag "vip""#, r#"tag "new""#], now)?;
    /// assert_eq!(o.intersections, [[2, 1], [1, 2]]);
    /// assert_eq!(o.jaccard(0, 1), Some(1.0 / 3.0));
    /// assert_eq!(o.share_also_in(0, 1), Some(0.5));
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn overlap(&self, segments: &[&str], now: Timestamp) -> Result<Overlap> {
        let sets = self.member_sets(segments, now)?;
        let sizes: Vec<u64> = sets.iter().map(Bitmap::cardinality).collect();
        let n = sets.len();
        let mut intersections = vec![vec![0u64; n]; n];
        for i in 0..n {
            intersections[i][i] = sizes[i];
            for j in i + 1..n {
                let both = sets[i].and_cardinality(&sets[j]);
                intersections[i][j] = both;
                intersections[j][i] = both;
            }
        }
        Ok(Overlap {
            names: segments.iter().map(|s| (*s).to_owned()).collect(),
            sizes,
            intersections,
        })
    }
}
