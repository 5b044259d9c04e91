//! `within r of (lat, lon)`: the box of coordinate bands that holds the circle, as a superset
//! for the exact distance test.

use crate::geo::EARTH_RADIUS_KM;
use crate::index::AttributeIndex;
use crate::language::Near;

use super::sets::IndexSet;

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
    // A point within angular distance `angle` of the centre differs from it by at most `angle`
    // in latitude, and by at most asin(sin(angle) / cos(latitude)) in longitude while the
    // circle stays clear of the poles. A margin covers rounding in the distance test.
    let angle = near.radius * near.unit.kilometres() / EARTH_RADIUS_KM;
    // Also refuses NaN.
    if angle.partial_cmp(&std::f64::consts::FRAC_PI_2) != Some(std::cmp::Ordering::Less) {
        return None;
    }
    const MARGIN_DEGREES: f64 = 1e-6;
    let dlat = angle.max(0.0).to_degrees() + MARGIN_DEGREES;
    let latitudes = lat.number_band(near.latitude - dlat, near.latitude + dlat)?;
    let farthest = near.latitude.abs() + dlat;
    let longitudes = if farthest < 89.0 {
        let ratio = (angle.max(0.0).sin() / farthest.to_radians().cos()).min(1.0);
        let dlon = ratio.asin().to_degrees() + MARGIN_DEGREES;
        let (west, east) = (near.longitude - dlon, near.longitude + dlon);
        if west >= -180.0 && east <= 180.0 {
            lon.number_band(west, east)?
        } else {
            vec![&lon.present]
        }
    } else {
        vec![&lon.present]
    };
    Some(IndexSet::Intersection(vec![latitudes, longitudes]))
}
