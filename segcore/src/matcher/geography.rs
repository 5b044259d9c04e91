//! `within r of (lat, lon)`. Over the `latitude`/`longitude` pair, from the position grid:
//! cells wholly inside the circle are members outright, cells wholly outside are skipped, and
//! only the profiles in cells across its edge get the exact distance test. Over other
//! attributes, the box of coordinate bands that holds the circle, as a superset for a scan.

use crate::explain::{Method, PlanStep};
use crate::geo::{self, distance_km, EARTH_RADIUS_KM};
use crate::index::{
    coarse_of, AttributeIndex, Bitmap, Cell, Grid, Located, FINE_PER_COARSE, FINE_PER_DEGREE,
};
use crate::language::{Near, Predicate};

use super::plan::step;
use super::sets::{lazy, IndexSet};
use super::Matcher;

/// Degrees of rounding allowed for in the box (the distance test's own rounding is far smaller).
const MARGIN_DEGREES: f64 = 1e-6;

/// Above this many coarse cells in the box, the grid is not worth walking (circles of
/// thousands of kilometres); the box of bands and a scan answer instead.
const MAX_COARSE_CELLS: i64 = 250_000;

/// How far a circle reaches from its centre: degrees of latitude, and of longitude unless it
/// nears a pole (`None`). `None` altogether for a radius of a quarter of the globe or more (or
/// NaN), where no box is a superset. A point within angular distance `angle` of the centre
/// differs from it by at most `angle` in latitude, and by at most asin(sin(angle) /
/// cos(latitude)) in longitude while the circle stays clear of the poles.
fn reach(near: &Near) -> Option<(f64, Option<f64>)> {
    let angle = near.radius * near.unit.kilometres() / EARTH_RADIUS_KM;
    if angle.partial_cmp(&std::f64::consts::FRAC_PI_2) != Some(std::cmp::Ordering::Less) {
        return None;
    }
    let dlat = angle.max(0.0).to_degrees() + MARGIN_DEGREES;
    let farthest = near.latitude.abs() + dlat;
    let dlon = (farthest < 89.0).then(|| {
        let ratio = (angle.max(0.0).sin() / farthest.to_radians().cos()).min(1.0);
        ratio.asin().to_degrees() + MARGIN_DEGREES
    });
    Some((dlat, dlon))
}

/// The profiles whose coordinates fall in a box around `within r of (lat, lon)` — a band of
/// latitudes and, unless the circle nears a pole or the date line, a band of longitudes — as
/// a superset of the circle for the distance test to decide. Stored positions outside plain
/// degrees never match (they are no position), so only the circle's own centre and radius
/// matter. `None` when the box would not be a superset: a radius of a quarter of the globe
/// or more, or a box the index cannot answer.
pub(super) fn near_box<'a>(
    near: &Near,
    lat: &'a AttributeIndex,
    lon: &'a AttributeIndex,
) -> Option<IndexSet<'a>> {
    let (dlat, dlon) = reach(near)?;
    let latitudes = lat.number_band(near.latitude - dlat, near.latitude + dlat)?;
    let longitudes = match dlon {
        Some(dlon) if near.longitude - dlon >= -180.0 && near.longitude + dlon <= 180.0 => {
            lon.number_band(near.longitude - dlon, near.longitude + dlon)?
        }
        _ => vec![&lon.present],
    };
    Some(IndexSet::Intersection(vec![latitudes, longitudes]))
}

/// Where a cell lies with respect to a circle.
#[derive(PartialEq)]
enum Side {
    Inside,
    Outside,
    Across,
}

/// Where the cell `cell` of a level with `per_degree` cells a degree lies. For any point p of
/// the cell, d(centre, p) is within d(centre, m) ± d(m, p) of the cell's middle m, and d(m, p)
/// is largest at a corner (along a parallel, distance grows with the difference in longitude;
/// along a meridian, a short arc's largest distance is at an end). The cell is widened a
/// little for the rounding of the floor that put a point in it, and the radius given a margin
/// far above the haversine's rounding.
fn side(near: &Near, cell: Cell, per_degree: f64) -> Side {
    const WIDEN: f64 = 1e-9;
    let south = f64::from(cell.0) / per_degree - WIDEN;
    let north = f64::from(cell.0 + 1) / per_degree + WIDEN;
    let west = f64::from(cell.1) / per_degree - WIDEN;
    let east = f64::from(cell.1 + 1) / per_degree + WIDEN;
    let (mid_lat, mid_lon) = ((south + north) / 2.0, (west + east) / 2.0);
    let spread = [(south, west), (south, east), (north, west), (north, east)]
        .iter()
        .map(|&(lat, lon)| distance_km(mid_lat, mid_lon, lat, lon))
        .fold(0.0, f64::max);
    let to_middle = distance_km(near.latitude, near.longitude, mid_lat, mid_lon);
    let radius = near.radius * near.unit.kilometres();
    let margin = 1e-7 * (1.0 + radius);
    if to_middle + spread <= radius - margin {
        Side::Inside
    } else if to_middle - spread > radius + margin {
        Side::Outside
    } else {
        Side::Across
    }
}

/// The cells of a circle, by what the matcher does with them.
struct Cover<'g> {
    /// Coarse cells wholly inside: large sets, united in CRoaring's bitset containers.
    inside: Vec<&'g Bitmap>,
    /// Fine cells wholly inside: many small lists, united over plain words.
    fine_inside: Vec<&'g [Located]>,
    /// Fine cells across the edge: their profiles get the distance test.
    across: Vec<&'g [Located]>,
}

/// The cells of `grid` a circle covers. `None` when walking the cells would cost more than
/// testing the `inputs` profiles one by one.
fn cover<'g>(grid: &'g Grid, near: &Near, inputs: u64) -> Option<Cover<'g>> {
    let (dlat, Some(dlon)) = reach(near)? else {
        return None;
    };
    let (west, east) = (near.longitude - dlon, near.longitude + dlon);
    if west < -180.0 || east > 180.0 {
        return None;
    }
    // Coarse cells from the fine cells of the box's corners, widened by one for rounding.
    let fine = |deg: f64| (deg * FINE_PER_DEGREE).floor() as i32;
    let low = coarse_of((fine(near.latitude - dlat), fine(west)));
    let high = coarse_of((fine(near.latitude + dlat), fine(east)));
    let (lat0, lat1, lon0, lon1) = (low.0 - 1, high.0 + 1, low.1 - 1, high.1 + 1);
    let in_box = i64::from(lat1 - lat0 + 1) * i64::from(lon1 - lon0 + 1);
    let held = grid.coarse.len() as i64;
    // Walk the box's cells, or the grid's own when it holds fewer.
    let walked = in_box.min(held);
    if walked > MAX_COARSE_CELLS || (inputs as i64).saturating_mul(4) < walked {
        return None;
    }
    let cells: Vec<(Cell, &Bitmap)> = if in_box <= held {
        (lat0..=lat1)
            .flat_map(|i| (lon0..=lon1).map(move |j| (i, j)))
            .filter_map(|cell| Some((cell, grid.coarse.get(&cell)?)))
            .collect()
    } else {
        let in_range = |&(i, j): &Cell| (lat0..=lat1).contains(&i) && (lon0..=lon1).contains(&j);
        grid.coarse
            .iter()
            .filter(|(cell, _)| in_range(cell))
            .map(|(cell, set)| (*cell, set))
            .collect()
    };
    let coarse_per_degree = FINE_PER_DEGREE / f64::from(FINE_PER_COARSE);
    let (mut inside, mut fine_inside, mut across) = (Vec::new(), Vec::new(), Vec::new());
    for ((i, j), set) in cells {
        match side(near, (i, j), coarse_per_degree) {
            Side::Inside => inside.push(set),
            Side::Outside => {}
            Side::Across => {
                for fi in i * FINE_PER_COARSE..(i + 1) * FINE_PER_COARSE {
                    for fj in j * FINE_PER_COARSE..(j + 1) * FINE_PER_COARSE {
                        let Some(set) = grid.fine.get(&(fi, fj)) else {
                            continue;
                        };
                        match side(near, (fi, fj), FINE_PER_DEGREE) {
                            Side::Inside => fine_inside.push(set.as_slice()),
                            Side::Outside => {}
                            Side::Across => across.push(set.as_slice()),
                        }
                    }
                }
            }
        }
    }
    Some(Cover {
        inside,
        fine_inside,
        across,
    })
}

/// The profiles of many small lists as a set, through plain words (they come in no order).
fn union_of_small(lists: &[&[Located]], slots: usize) -> Bitmap {
    let mut words = vec![0u64; slots.div_ceil(64)];
    for list in lists {
        for &Located { slot, .. } in *list {
            if let Some(w) = words.get_mut(slot as usize / 64) {
                *w |= 1 << (slot % 64);
            }
        }
    }
    let mut members = Vec::new();
    for (i, &word) in words.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            members.push((i * 64) as u32 + word.trailing_zeros());
            word &= word - 1;
        }
    }
    Bitmap::of(&members)
}

impl<'a> Matcher<'a> {
    /// `within r of (lat, lon)` over the `latitude`/`longitude` pair from the grid; `None`
    /// for other attributes or circles the grid does not cover (near a pole or the date line,
    /// thousands of kilometres wide), which the caller scans.
    pub(super) fn near(
        &self,
        p: &Predicate,
        near: &Near,
        input: &Bitmap,
    ) -> Option<(Bitmap, PlanStep)> {
        if near.latitude_attribute != geo::LATITUDE || near.longitude_attribute != geo::LONGITUDE {
            return None;
        }
        let store = &self.audience.store;
        let cover = cover(&self.index().grid, near, input.cardinality())?;
        let mut out = lazy(cover.inside).and(input);
        let fine = union_of_small(&cover.fine_inside, store.slot_bound());
        out.or_inplace(&fine.and(input));
        // The edge: each profile's position is beside it in its cell.
        let mut tested = 0u64;
        let mut exact: Vec<u32> = Vec::new();
        for list in &cover.across {
            for &Located { slot, at } in *list {
                if input.contains(slot) {
                    tested += 1;
                    if geo::within(near, at) {
                        exact.push(slot);
                    }
                }
            }
        }
        exact.sort_unstable();
        let exact = Bitmap::of(&exact);
        out.or_inplace(&exact);
        let s = step(
            p.to_string(),
            Method::Grid,
            input.cardinality(),
            out.cardinality() - exact.cardinality() + tested,
            out.cardinality(),
            Vec::new(),
        );
        Some((out, s))
    }
}
