//! A batch from the directory's change channel through the cycle's own stages: the changed
//! entries are decoded and mapped as a read does them, planned by the same pure plan
//! against what the state knows (`Desired::changes`: only the batch's users and the
//! departures it names), through the same guards — the channel's removals within
//! `safety.change_window` count together, so a script disabling 500 accounts in a minute is
//! held as a mass removal in a cycle is — with quarantine, apply and the records of a
//! cycle. The daemon's one worker runs batches and cycles one at a time.
//!
//! Group membership is not patched from a batch: with `[groups]` the daemon runs a cycle
//! for a batch instead (flattening, group scope and `member_of` need every group's members).

use std::collections::{HashMap, HashSet};

use metrics::histogram;

use super::cycle::Cycle;
use super::read::{self, State};
use super::{CycleError, CycleOptions, CycleReport, Engine, Shutdown, apply, managers, record};
use crate::metrics::CHANGE_LATENCY_SECONDS;
use crate::model::{Anchor, ChannelRecord, Filter, HeldOp, Meta, RawEntry, normalize_dn};
use crate::plan::{Action, ChangeScope, DesiredUser};
use crate::scim::Target;
use crate::source::memory::MemoryDirectory;
use crate::source::{Decoder, Directory};
use crate::state::StateStore;

/// What the change channel saw since the last batch.
#[derive(Clone, Debug, Default)]
pub struct ChangeBatch {
    /// Changed user entries, whole, as a read gives them (the channel searches with the
    /// user search's base and filter).
    pub entries: Vec<RawEntry>,
    /// Users the channel reported deleted or out of scope.
    pub gone: Vec<Departure>,
    /// Where the channel resumes once this batch is applied.
    pub position: Option<ChannelRecord>,
}

/// A user the channel reported gone: by entryUUID (syncrepl), by tombstone (DirSync, AD
/// with Show Deleted), and the DN when known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Departure {
    pub entry_uuid: Option<String>,
    pub dn: Option<String>,
    pub tombstone: Option<RawEntry>,
}

impl<D: Directory, T: Target, S: StateStore + Clone + 'static> Engine<D, T, S> {
    /// Applies one batch of changes (see the module doc).
    pub async fn run_changes(&self, batch: ChangeBatch, shutdown: &Shutdown) -> Result<CycleReport, CycleError> {
        self.target.begin_cycle();
        let options = CycleOptions { changes: true, position: batch.position, ..Default::default() };
        let mut cycle = Cycle::begin(&self.store, &options)?;
        let changed_at = changed_at(&batch.entries);
        let directory = MemoryDirectory::new(batch.entries, Filter::Present("objectClass".into()));
        let read = read::both_sides_from(self, &directory, false, None).await?;
        self.store.begin_cycle()?;
        let (mut desired, mut state, _) = cycle.scope(read, None, None);
        let window = self.limits.change_window;
        let gone = departed(&self.decoder, &batch.gone, &state);
        let held = held_removals(&cycle.meta, &desired.users, &gone);
        desired.changes = Some(ChangeScope { gone, recent_removals: self.window.recent(cycle.now, window) + held });
        let notes = managers::resolve(&mut cycle, &mut desired, &state, &self.create_only);
        let plan = cycle.plan(&self.limits, desired, &state, notes);
        cycle.hold(&self.store, &plan)?;
        apply::users(self, &mut cycle, &mut state, plan, shutdown).await?;
        let removals = cycle.report.succeeded(Action::Deactivate) + cycle.report.succeeded(Action::Delete);
        self.window.record(cycle.now, removals);
        let report = record::finish(self, cycle, &state)?;
        observe_latency(&report, &changed_at);
        Ok(report)
    }
}

/// Removals held for approval that this batch does not plan again. They count against the
/// limits with the batch's own, as a cycle would plan them all together: without them a
/// burst the channel hands over in several batches (`collect.rs` closes one after `MAX_WAIT`
/// or `MAX_ENTRIES`) had its first batch held and a tail under the limit applied — a script
/// disabling 300 accounts deactivated the last few dozen without approval.
fn held_removals(meta: &Meta, users: &[DesiredUser], gone: &HashSet<Anchor>) -> u64 {
    let Some(held) = &meta.held else { return 0 };
    let in_batch: HashSet<&Anchor> = users.iter().map(|u| &u.anchor).chain(gone).collect();
    let removal = |op: &HeldOp| matches!(op.action.as_str(), "deactivate" | "delete");
    held.ops.iter().filter(|op| removal(op) && !in_batch.contains(&op.anchor)).count() as u64
}

/// The anchors of the departures the state knows: by the anchor a tombstone or an
/// entryUUID decodes to (the default anchor of OpenLDAP and 389-ds is entryUUID), else by DN.
fn departed(decoder: &Decoder, gone: &[Departure], state: &State) -> HashSet<Anchor> {
    let by_dn =
        || -> HashMap<String, &Anchor> { state.known.values().map(|k| (normalize_dn(&k.dn), &k.anchor)).collect() };
    let mut dns: Option<HashMap<String, &Anchor>> = None;
    let mut out = HashSet::new();
    for d in gone {
        let decoded = d.tombstone.as_ref().map(|t| decoder.anchor(t)).or_else(|| {
            let uuid = d.entry_uuid.as_ref()?;
            let mut entry = RawEntry::new(d.dn.clone().unwrap_or_default());
            entry.push("entryUUID", uuid.as_bytes().to_vec());
            Some(decoder.anchor(&entry))
        });
        match decoded {
            Some(Ok(anchor)) if state.known.contains_key(&anchor) => drop(out.insert(anchor)),
            _ => {
                let Some(dn) = &d.dn else { continue };
                if let Some(anchor) = dns.get_or_insert_with(by_dn).get(&normalize_dn(dn)) {
                    out.insert((*anchor).clone());
                }
            }
        }
    }
    out
}

/// When each changed entry changed (`modifyTimestamp`, AD's `whenChanged`), by DN.
fn changed_at(entries: &[RawEntry]) -> HashMap<String, f64> {
    entries
        .iter()
        .filter_map(|e| {
            let text = e.first_text("modifytimestamp").or_else(|| e.first_text("whenchanged"))?;
            Some((normalize_dn(&e.dn), generalized_time(text)?))
        })
        .collect()
}

/// Seconds since the epoch of an LDAP GeneralizedTime such as `20261202191500Z` or AD's
/// `20261202191500.0Z` (UTC; whole seconds, as directories keep them).
fn generalized_time(text: &str) -> Option<f64> {
    let digits = text.get(..14)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| digits[a..b].parse::<i64>().ok();
    let (y, m, d) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let (hh, mm, ss) = (n(8, 10)?, n(10, 12)?, n(12, 14)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) as f64)
}

/// From each applied change's directory timestamp to now, the target having answered.
fn observe_latency(report: &CycleReport, changed_at: &HashMap<String, f64>) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    for outcome in report.outcomes.iter().filter(|o| o.result.succeeded()) {
        if let Some(at) = changed_at.get(&normalize_dn(&outcome.dn)) {
            histogram!(CHANGE_LATENCY_SECONDS).record((now - at).max(0.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times_from_openldap_and_ad() {
        assert_eq!(generalized_time("19700101000000Z"), Some(0.0));
        assert_eq!(generalized_time("20261202191500Z"), Some(1_796_238_900.0));
        assert_eq!(generalized_time("20261202191500.0Z"), Some(1_796_238_900.0));
        assert_eq!(generalized_time("20000229120000Z"), Some(951_825_600.0));
        for bad in ["", "2026", "2026120219150xZ"] {
            assert_eq!(generalized_time(bad), None, "{bad:?}");
        }
    }
}
