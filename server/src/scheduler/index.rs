//! An ordered view of a cluster's up hosts (but those a planner holds back): by OS (family, version), then most free memory
//! first. Under the policies whose memory weight is EvenDistribution (alone or after the
//! InClusterUpgrade weight), the best host of each OS group is its first one that passes the
//! CPU and source checks. A placement then looks at a handful of hosts instead of every one.
//! Planning a 10,000-host upgrade needs that.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use super::Slot;

/// Most free memory first, then the host whose name sorts first, then its position.
pub(super) type Entry = (Reverse<u64>, u32, usize);

#[derive(Clone, Debug, Default)]
pub(super) struct FreeIndex {
    groups: BTreeMap<(u32, u64), BTreeSet<Entry>>,
}

impl FreeIndex {
    pub(super) fn insert(&mut self, index: usize, slot: &Slot, name_rank: u32) {
        if slot.up && !slot.held {
            self.groups
                .entry((slot.family, slot.rank))
                .or_default()
                .insert((Reverse(slot.free_mb), name_rank, index));
        }
    }

    pub(super) fn remove(&mut self, index: usize, slot: &Slot, name_rank: u32) {
        let group = (slot.family, slot.rank);
        if let Some(entries) = self.groups.get_mut(&group) {
            entries.remove(&(Reverse(slot.free_mb), name_rank, index));
            if entries.is_empty() {
                self.groups.remove(&group);
            }
        }
    }

    /// The OS groups of one family from `rank` up (`None`: every group), each best first.
    pub(super) fn groups(
        &self,
        family_from: Option<(u32, u64)>,
    ) -> Box<dyn Iterator<Item = &BTreeSet<Entry>> + '_> {
        match family_from {
            Some((family, rank)) => Box::new(
                self.groups
                    .range((family, rank)..=(family, u64::MAX))
                    .map(|(_, entries)| entries),
            ),
            None => Box::new(self.groups.values()),
        }
    }
}
