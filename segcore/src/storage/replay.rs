//! Replaying a journal into an audience: every record through the public write it stands for,
//! except runs of `track` records, which are gathered as columns and written through the bulk
//! load (one sort and sequential passes rather than a `track` each: the write that dominates a
//! journal, replayed one by one at ~2 µs a record).
//!
//! The result is the audience the records make one by one: a gathered run is written before
//! any other record is applied (so each record sees every write before it), rows keep their
//! order (new profiles get their slots in it, ties keep arrival order), and the bulk load
//! checks each row as `track` does. A refused record names its journal offset.

use crate::error::{Error, Result};
use crate::ingest::EventRows;
use crate::storage::format::corrupt;
use crate::storage::record::Record;
use crate::storage::values::event_from_image;
use crate::Audience;

/// Rows gathered before they are handed to the load.
const BATCH_ROWS: usize = 1 << 20;

/// A journal being replayed into an audience (that is not journaling): see the module doc.
pub(crate) struct Replay<'a> {
    audience: &'a mut Audience,
    rows: EventRows,
    /// The journal offset of each gathered row's record.
    offsets: Vec<usize>,
}

impl<'a> Replay<'a> {
    pub(crate) fn new(audience: &'a mut Audience) -> Replay<'a> {
        Replay {
            audience,
            rows: EventRows::default(),
            offsets: Vec::new(),
        }
    }

    /// Applies the record read at journal offset `at` (or gathers it).
    pub(crate) fn apply(&mut self, record: Record, at: usize) -> Result<()> {
        let Record::Track { id, event } = record else {
            self.write_gathered()?;
            return record.replay(self.audience).map_err(|e| refused(at, e));
        };
        let event = event_from_image(event).map_err(|e| refused(at, e))?;
        if self.offsets.is_empty() || self.rows.current_profile() != id {
            self.rows.start_profile(id);
        }
        match self.rows.push(event) {
            Ok(()) => self.offsets.push(at),
            Err(event) => {
                // Columns cannot hold it as it is: written on its own, after what is gathered.
                self.write_gathered()?;
                let id = self.rows.current_profile().to_owned();
                self.audience
                    .track(&id, event)
                    .map_err(|e| refused(at, e))?;
            }
        }
        if self.rows.len() >= BATCH_ROWS {
            self.write_gathered()?;
        }
        Ok(())
    }

    /// Writes what is gathered; the replay is complete once this returns.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.write_gathered()
    }

    fn write_gathered(&mut self) -> Result<()> {
        if self.rows.len() == 0 {
            return Ok(());
        }
        let mut load = self.audience.event_load();
        let added = self.rows.add_to(&mut load);
        load.finish();
        let offsets = std::mem::take(&mut self.offsets);
        added.map_err(|e| refused(offsets[e.row], e.error))
    }
}

/// A journaled write that the audience refuses on replay: corruption, since only writes that
/// succeeded are journaled.
pub(crate) fn refused(at: usize, error: Error) -> Error {
    corrupt(format!(
        "journal offset {at}: a journaled write is refused on replay: {error}"
    ))
}
