//! One person, several ids: `alias` merges a previous id into a user id, and the merged ids
//! are remembered on the surviving profile (the list attribute `merged_ids`), so later
//! messages under an old id reach the same profile, in this process or after a reload.

use std::collections::HashMap;

use super::campaign::{touch_names, FIRST_TOUCH, LAST_TOUCH};
use crate::audience::Audience;
use crate::profile::Profile;
use crate::value::Value;
use crate::write::Write;

/// The list attribute that names the ids merged into a profile.
pub const MERGED_IDS: &str = "merged_ids";

/// Old id → the id of the profile it was merged into. Built from [`MERGED_IDS`] on first
/// use; kept current by merges and erasures; dropped (to be rebuilt) if a caller writes
/// [`MERGED_IDS`] directly.
#[derive(Debug, Clone, Default)]
pub(crate) struct Aliases(Option<HashMap<String, String>>);

impl Aliases {
    pub(crate) fn invalidate(&mut self) {
        self.0 = None;
    }
}

impl Audience {
    fn aliases(&mut self) -> &mut HashMap<String, String> {
        if self.aliases.0.is_none() {
            let mut map = HashMap::new();
            for slot in self.store.live_slots() {
                if let Some(crate::column::AttrRef::List(ids)) =
                    self.store.attribute(slot, MERGED_IDS)
                {
                    let into = &self.store.record(slot).expect("a live slot").id;
                    for old in ids {
                        map.insert(old.clone(), into.to_string());
                    }
                }
            }
            self.aliases.0 = Some(map);
        }
        self.aliases.0.as_mut().expect("just built")
    }

    /// The id of the profile that messages for `id` reach.
    pub(crate) fn resolve(&mut self, id: &str) -> String {
        self.aliases()
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    /// Forgets the aliases of a profile being erased (its id and the ids merged into it).
    pub(crate) fn forget_aliases(&mut self, id: &str) {
        let Some(map) = self.aliases.0.as_mut() else {
            return;
        };
        map.remove(id);
        if let Some(slot) = self.store.slot(id) {
            if let Some(crate::column::AttrRef::List(ids)) = self.store.attribute(slot, MERGED_IDS)
            {
                for old in ids {
                    map.remove(old);
                }
            }
        }
    }

    /// Merges profile `from` into `into` and erases `from`:
    ///
    /// - attributes: `into` keeps its values; `from` fills the ones it lacks; the first touch
    ///   is the earlier of the two, the last touch the later;
    /// - tags: the union, each at the earlier of its two times;
    /// - events: all of both;
    /// - consent: per channel, the newer decision (as [`Audience::set_consent`] decides);
    /// - [`MERGED_IDS`]: both lists and `from`.
    ///
    /// Returns whether `from` existed.
    pub(crate) fn merge_profiles(&mut self, from: &str, into: &str) -> crate::Result<bool> {
        let Some(old) = self.profile(from) else {
            return Ok(false);
        };
        let writes = merge_writes(&old, self.profile(into).as_ref(), into);
        for write in writes {
            self.perform(write)?;
        }
        let moved: Vec<String> = match old.attributes.get(MERGED_IDS) {
            Some(Value::List(ids)) => ids.clone(),
            _ => Vec::new(),
        };
        self.erase(from)?;
        let map = self.aliases();
        map.insert(from.to_owned(), into.to_owned());
        for id in moved {
            map.insert(id, into.to_owned());
        }
        Ok(true)
    }
}

fn merge_writes(old: &Profile, current: Option<&Profile>, into: &str) -> Vec<Write> {
    let id = into.to_owned();
    let held = |name: &str| current.and_then(|c| c.attributes.get(name));
    let mut attributes: Vec<(String, Value)> = Vec::new();
    // Touches move as groups, so a touch never mixes two campaigns.
    let touch_at =
        |p: Option<&Profile>, prefix: &str| match p?.attributes.get(&format!("{prefix}at")) {
            Some(Value::Timestamp(t)) => Some(*t),
            _ => None,
        };
    let mut unset = Vec::new();
    for (prefix, earlier_wins) in [(FIRST_TOUCH, true), (LAST_TOUCH, false)] {
        let (Some(theirs), ours) = (touch_at(Some(old), prefix), touch_at(current, prefix)) else {
            continue;
        };
        let take = ours.is_none_or(|o| if earlier_wins { theirs < o } else { theirs > o });
        if !take {
            continue;
        }
        for name in touch_names(prefix) {
            match old.attributes.get(&name) {
                Some(v) => attributes.push((name, v.clone())),
                None if held(&name).is_some() => unset.push(Write::Unset {
                    id: id.clone(),
                    attribute: name,
                }),
                None => {}
            }
        }
    }
    for (name, value) in &old.attributes {
        let touch = name.starts_with(FIRST_TOUCH) || name.starts_with(LAST_TOUCH);
        if touch || name == MERGED_IDS || held(name).is_some() {
            continue;
        }
        attributes.push((name.clone(), value.clone()));
    }
    let mut merged: Vec<String> = match held(MERGED_IDS) {
        Some(Value::List(ids)) => ids.clone(),
        _ => Vec::new(),
    };
    if let Some(Value::List(ids)) = old.attributes.get(MERGED_IDS) {
        merged.extend(ids.iter().cloned());
    }
    merged.push(old.id.clone());
    merged.sort();
    merged.dedup();
    attributes.push((MERGED_IDS.to_owned(), Value::List(merged)));

    let mut writes = vec![Write::Upsert {
        id: id.clone(),
        attributes,
    }];
    writes.extend(unset);
    for (tag, &at) in &old.tags {
        match current.and_then(|c| c.tags.get(tag)) {
            Some(&ours) if ours <= at => {}
            Some(_) => {
                writes.push(Write::Untag {
                    id: id.clone(),
                    tag: tag.clone(),
                });
                writes.push(Write::Tag {
                    id: id.clone(),
                    tag: tag.clone(),
                    at,
                });
            }
            None => writes.push(Write::Tag {
                id: id.clone(),
                tag: tag.clone(),
                at,
            }),
        }
    }
    for event in &old.events {
        writes.push(Write::Track {
            id: id.clone(),
            event: event.clone(),
        });
    }
    for (channel, decision) in &old.consent {
        let newer = current
            .and_then(|c| c.consent.get(channel))
            .is_none_or(|ours| decision.at > ours.at);
        if newer {
            writes.push(Write::Consent {
                id: id.clone(),
                channel: channel.clone(),
                granted: decision.granted,
                at: decision.at,
            });
        }
    }
    writes
}
