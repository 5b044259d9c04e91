//! Great-circle distance for `within 50km of (lat, lon)`.

use crate::column::AttrRef;
use crate::language::Near;

/// The attributes `within r of (lat, lon)` reads unless told otherwise.
pub(crate) const LATITUDE: &str = "latitude";
/// See [`LATITUDE`].
pub(crate) const LONGITUDE: &str = "longitude";

/// A stored position: both numbers, in plain degrees. Anything else (a latitude of 95, a
/// string) is no position at all: the attributes are ordinary numbers, and only here are they
/// read as geography.
pub(crate) fn position(lat: Option<AttrRef<'_>>, lon: Option<AttrRef<'_>>) -> Option<(f64, f64)> {
    match (lat, lon) {
        (Some(AttrRef::Num(lat)), Some(AttrRef::Num(lon)))
            if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
        {
            Some((lat, lon))
        }
        _ => None,
    }
}

/// Whether a position is inside the circle: the one rule for the reference and the matcher.
pub(crate) fn within(near: &Near, (lat, lon): (f64, f64)) -> bool {
    distance_km(lat, lon, near.latitude, near.longitude) <= near.radius * near.unit.kilometres()
}

/// Mean Earth radius in kilometres (IUGG).
pub(crate) const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The haversine distance in kilometres between two points given in degrees.
pub(crate) fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::distance_km;

    #[test]
    fn stockholm_to_copenhagen_is_about_522_km() {
        let d = distance_km(59.3293, 18.0686, 55.6761, 12.5683);
        assert!((d - 522.0).abs() < 3.0, "{d}");
    }

    #[test]
    fn a_point_is_zero_from_itself() {
        assert_eq!(distance_km(10.0, 20.0, 10.0, 20.0), 0.0);
    }
}
