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
use crate::ingest::{EventLoad, EventRows};
use crate::storage::format::corrupt;
use crate::storage::record::Record;
use crate::storage::values::event_from_image;
use crate::Audience;

/// A journal being replayed into an audience (that is not journaling): see the module doc.
pub(crate) struct Replay<'a> {
    /// One load for the whole journal, lending the audience to the other records.
    load: EventLoad<'a>,
    /// The gathered events, each with its record's journal offset.
    rows: EventRows,
}

impl<'a> Replay<'a> {
    pub(crate) fn new(audience: &'a mut Audience) -> Replay<'a> {
        Replay {
            load: audience.event_load(),
            rows: EventRows::default(),
        }
    }

    /// Applies the record read at journal offset `at` (or gathers it).
    pub(crate) fn apply(&mut self, record: Record, at: usize) -> Result<()> {
        let Record::Track { id, event } = record else {
            self.hand_over()?;
            return record
                .replay(self.load.audience())
                .map_err(|e| refused(at, e));
        };
        let event = event_from_image(event).map_err(|e| refused(at, e))?;
        self.rows.start_profile(id);
        self.rows
            .gather(&mut self.load, event, at)
            .map_err(|r| refused(r.source, r.error))
    }

    /// Writes what is gathered; the replay is complete once this returns.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.hand_over()?;
        self.load.finish();
        Ok(())
    }

    fn hand_over(&mut self) -> Result<()> {
        self.rows
            .hand_to(&mut self.load)
            .map_err(|r| refused(r.source, r.error))
    }
}

/// A journaled write that the audience refuses on replay: corruption, since only writes that
/// succeeded are journaled.
pub(crate) fn refused(at: usize, error: Error) -> Error {
    corrupt(format!(
        "journal offset {at}: a journaled write is refused on replay: {error}"
    ))
}
