//! A two-level grid of positions over the `latitude` and `longitude` attributes — the ones
//! `within r of (lat, lon)` reads unless told otherwise — so a circle is a union of the cells
//! wholly inside it, with the exact distance test only for the profiles in cells on its edge.
//!
//! Why a grid of our own rather than H3 or S2: a cell here is a latitude/longitude rectangle,
//! so whether it lies wholly inside, wholly outside or across a circle follows from four
//! corner distances with the same haversine the reference uses (see `matcher/geography.rs`),
//! and a profile's cell is two floors. Coarse cells (0.1°, ~11 km) cover a circle's inside in
//! few sets; fine cells (0.01°, ~1 km) keep the edge thin. A fine cell holds few profiles
//! scattered over every chunk of slots, where a bitmap pays a container per member, so it is a
//! plain list of its profiles with their positions, sorted by slot: the distance test at the
//! edge reads them there rather than from the attribute columns.

use std::collections::HashMap;

use super::Bitmap;

/// A cell: (latitude index, longitude index) at one level.
pub(crate) type Cell = (i32, i32);

/// Fine cells per degree.
pub(crate) const FINE_PER_DEGREE: f64 = 100.0;

/// Fine cells per side of a coarse cell.
pub(crate) const FINE_PER_COARSE: i32 = 10;

/// The fine cell of a position (plain degrees, as [`crate::geo::position`] admits).
pub(crate) fn fine_cell((lat, lon): (f64, f64)) -> Cell {
    (
        (lat * FINE_PER_DEGREE).floor() as i32,
        (lon * FINE_PER_DEGREE).floor() as i32,
    )
}

/// The coarse cell holding a fine cell. Derived from the fine cell, never from the degrees,
/// so the two levels nest exactly whatever the rounding of a floor.
pub(crate) fn coarse_of((lat, lon): Cell) -> Cell {
    (
        lat.div_euclid(FINE_PER_COARSE),
        lon.div_euclid(FINE_PER_COARSE),
    )
}

/// A located profile in a fine cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Located {
    pub slot: u32,
    pub at: (f64, f64),
}

/// Profiles by coarse and by fine cell of their position. Each located profile is in one set
/// of each level.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grid {
    pub coarse: HashMap<Cell, Bitmap>,
    pub fine: HashMap<Cell, Vec<Located>>,
}

impl Grid {
    /// Moves `slot` from the cells of `old` to those of `new` (`None`: no position).
    pub(super) fn update(&mut self, slot: u32, old: Option<(f64, f64)>, new: Option<(f64, f64)>) {
        if let Some(fine) = old.map(fine_cell) {
            if let Some(list) = self.fine.get_mut(&fine) {
                if let Ok(i) = list.binary_search_by_key(&slot, |l| l.slot) {
                    list.remove(i);
                }
                if list.is_empty() {
                    self.fine.remove(&fine);
                }
            }
            remove(&mut self.coarse, coarse_of(fine), slot);
        }
        if let Some(at) = new {
            let fine = fine_cell(at);
            let list = self.fine.entry(fine).or_default();
            // New profiles take the highest slots: nearly always an append.
            let i = list.partition_point(|l| l.slot < slot);
            list.insert(i, Located { slot, at });
            self.coarse.entry(coarse_of(fine)).or_default().add(slot);
        }
    }
}

fn remove(cells: &mut HashMap<Cell, Bitmap>, cell: Cell, slot: u32) {
    if let Some(set) = cells.get_mut(&cell) {
        set.remove(slot);
        if set.is_empty() {
            cells.remove(&cell);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_nest_even_where_a_floor_rounds() {
        // 2.3 * 10 is 23.0 while 2.3 * 100 floors to 229: the coarse cell follows the fine.
        let fine = fine_cell((2.3, -0.3));
        assert_eq!(fine, (229, -30));
        assert_eq!(coarse_of(fine), (22, -3));
        assert_eq!(coarse_of((-1, 10)), (-1, 1));
    }

    #[test]
    fn moving_a_profile_leaves_no_empty_cells() {
        let mut g = Grid::default();
        g.update(1, None, Some((59.33, 18.07)));
        g.update(2, None, Some((59.335, 18.071)));
        g.update(1, Some((59.33, 18.07)), Some((55.68, 12.57)));
        let only = Located {
            slot: 2,
            at: (59.335, 18.071),
        };
        assert_eq!(g.fine[&(5933, 1807)], [only]);
        // A move within a cell keeps the stored position current.
        g.update(2, Some((59.335, 18.071)), Some((59.336, 18.072)));
        assert_eq!(g.fine[&(5933, 1807)][0].at, (59.336, 18.072));
        g.update(2, Some((59.336, 18.072)), Some((59.335, 18.071)));
        assert_eq!(g.coarse[&(593, 180)].to_vec(), [2]);
        g.update(2, Some((59.335, 18.071)), None);
        g.update(1, Some((55.68, 12.57)), None);
        assert!(g.fine.is_empty() && g.coarse.is_empty());
    }
}
