//! Great-circle distance for `within 50km of (lat, lon)`.

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
