//! One collection's objects in memory, indexed so that a page is found by seeking, never by
//! scanning from the start: every version sits in a B-tree ordered by (`date_added`, seq), with
//! side indexes by object id and by type.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use taxii_model::object::same_json;
use taxii_model::select::select_versions;
use taxii_model::{Filter, NewObject, Position, Timestamp};

use crate::shared::note_media_type;
use crate::{AddOutcome, CollectionRecord, ListQuery, Page, StoredVersion};

#[derive(Debug)]
pub(crate) struct CollectionData {
    pub(crate) meta: CollectionRecord,
    records: BTreeMap<Position, StoredVersion>,
    /// Positions of each object's versions, ascending.
    by_id: HashMap<String, Vec<Position>>,
    by_type: HashMap<String, BTreeSet<Position>>,
    next_seq: u64,
    last_date_added: Option<Timestamp>,
}

impl CollectionData {
    pub(crate) fn new(meta: CollectionRecord) -> Self {
        CollectionData {
            meta,
            records: BTreeMap::new(),
            by_id: HashMap::new(),
            by_type: HashMap::new(),
            next_seq: 0,
            last_date_added: None,
        }
    }

    /// Every stored version in `date_added` order.
    pub(crate) fn versions(&self) -> impl Iterator<Item = &StoredVersion> {
        self.records.values()
    }

    fn versions_of(&self, id: &str) -> Vec<&StoredVersion> {
        self.by_id
            .get(id)
            .map(|ps| ps.iter().filter_map(|p| self.records.get(p)).collect())
            .unwrap_or_default()
    }

    /// Inserts a version at a given `date_added` (imports keep theirs; adds are assigned one).
    pub(crate) fn insert(&mut self, mut version: StoredVersion, date_added: Timestamp) -> Position {
        let position = Position {
            date_added,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.last_date_added = self.last_date_added.max(Some(date_added));
        version.position = position;
        let ids = self.by_id.entry(version.id.clone()).or_default();
        // Positions grow with every insert, so this is a push in practice; never a re-sort.
        let at = ids.partition_point(|p| *p < position);
        ids.insert(at, position);
        self.by_type
            .entry(version.type_.clone())
            .or_default()
            .insert(position);
        self.records.insert(position, version);
        position
    }

    /// The `date_added` for the next added version: now, but strictly after the last one, so
    /// that paging by `X-TAXII-Date-Added-Last` never loses a tie.
    fn next_date_added(&self, now: Timestamp) -> Timestamp {
        let now = now.truncate_to_micros();
        match self.last_date_added {
            Some(last) if last >= now => last.next_micro(),
            _ => now,
        }
    }

    pub(crate) fn add(&mut self, object: NewObject, now: Timestamp) -> AddOutcome {
        let existing = self.versions_of(&object.id);
        match &object.version {
            Some(key) => {
                if let Some(old) = existing.iter().find(|v| v.version == key.instant) {
                    return if same_json(&old.json, &object.json) {
                        AddOutcome::AlreadyPresent {
                            version: key.text.clone(),
                        }
                    } else {
                        AddOutcome::Conflict {
                            version: key.text.clone(),
                        }
                    };
                }
            }
            // An SCO has no version of its own: its stable version is the `date_added` of its
            // first post, so identical content is that version again and different content
            // conflicts with it (digest A-19), never a second version.
            None => {
                if let Some(old) = existing.iter().find(|v| same_json(&v.json, &object.json)) {
                    return AddOutcome::AlreadyPresent {
                        version: old.version_text.clone(),
                    };
                }
                if let Some(first) = existing.first() {
                    return AddOutcome::Conflict {
                        version: first.version_text.clone(),
                    };
                }
            }
        }
        let date_added = self.next_date_added(now);
        let (version, version_text) = match object.version {
            Some(key) => (key.instant, key.text),
            None => (date_added, date_added.to_taxii_string()),
        };
        let media_type = object.spec_version.media_type();
        note_media_type(&mut self.meta.media_types, &media_type);
        self.insert(
            StoredVersion {
                id: object.id,
                type_: object.type_,
                version,
                version_text: version_text.clone(),
                spec_version: object.spec_version,
                media_type,
                position: Position { date_added, seq: 0 },
                json: Arc::from(object.json),
            },
            date_added,
        );
        AddOutcome::Added {
            version: version_text,
        }
    }

    /// Stores an imported version with its own `date_added`, unless its (id, version) is
    /// already there. Returns whether it was stored.
    pub(crate) fn import(&mut self, version: StoredVersion) -> bool {
        if self
            .versions_of(&version.id)
            .iter()
            .any(|v| v.version == version.version)
        {
            return false;
        }
        note_media_type(&mut self.meta.media_types, &version.media_type);
        let date_added = version.date_added();
        self.insert(version, date_added);
        true
    }

    pub(crate) fn version_count(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// The positions of the versions of `id` that the filter selects.
    fn selected(&self, id: &str, filter: &Filter) -> Vec<Position> {
        let versions = self.versions_of(id);
        select_versions(
            &versions,
            filter.added_after,
            &filter.spec_versions,
            &filter.versions,
        )
        .into_iter()
        .map(|i| versions[i].position)
        .collect()
    }

    pub(crate) fn list(&self, q: &ListQuery<'_>) -> Page<StoredVersion> {
        let filter = q.filter;
        let floor = crate::page_floor(q.after, filter.added_after);
        let want = q.limit.saturating_add(1);
        let mut chosen: HashMap<&str, Vec<Position>> = HashMap::new();
        let mut keep = |p: &Position| -> bool {
            let Some(rec) = self.records.get(p) else {
                return false;
            };
            if !filter.matches_type(&rec.type_) || !filter.matches_id(&rec.id) {
                return false;
            }
            chosen
                .entry(rec.id.as_str())
                .or_insert_with(|| self.selected(&rec.id, filter))
                .contains(p)
        };
        let above = |p: &&Position| floor.is_none_or(|f| **p > f);
        let mut found: Vec<Position> = Vec::new();
        if let Some(ids) = q.object_id.map(|i| vec![i]).or_else(|| {
            filter
                .ids
                .as_ref()
                .map(|v| v.iter().map(String::as_str).collect())
        }) {
            let mut candidates: Vec<Position> = ids
                .iter()
                .filter_map(|id| self.by_id.get(*id))
                .flatten()
                .filter(above)
                .copied()
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            found.extend(candidates.into_iter().filter(|p| keep(p)).take(want));
        } else {
            let lower = floor.map_or(Bound::Unbounded, Bound::Excluded);
            match &filter.types {
                Some(types) => {
                    for t in types {
                        if let Some(set) = self.by_type.get(t) {
                            let range = set.range((lower, Bound::Unbounded));
                            found.extend(range.filter(|p| keep(p)).take(want));
                        }
                    }
                    found.sort_unstable();
                    found.dedup();
                    found.truncate(want);
                }
                None => {
                    let range = self.records.range((lower, Bound::Unbounded));
                    found.extend(range.map(|(p, _)| p).filter(|p| keep(p)).take(want));
                }
            }
        }
        let more = found.len() > q.limit;
        found.truncate(q.limit);
        Page {
            items: found
                .iter()
                .filter_map(|p| self.records.get(p).cloned())
                .collect(),
            more,
        }
    }

    pub(crate) fn delete(&mut self, id: &str, filter: &Filter) -> u64 {
        let doomed = self.selected(id, filter);
        for p in &doomed {
            if let Some(rec) = self.records.remove(p)
                && let Some(set) = self.by_type.get_mut(&rec.type_)
            {
                set.remove(p);
            }
        }
        if let Some(ids) = self.by_id.get_mut(id) {
            ids.retain(|p| !doomed.contains(p));
            if ids.is_empty() {
                self.by_id.remove(id);
            }
        }
        doomed.len() as u64
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::Map;
    use serde_json::value::RawValue;

    use super::*;
    use crate::Grant;

    fn sco(json: &str) -> NewObject {
        let raw: Box<RawValue> = serde_json::from_str(json).unwrap();
        NewObject::from_raw(&raw).unwrap()
    }

    #[test]
    fn a_changed_sco_conflicts_with_its_stable_version_instead_of_adding_another() {
        let mut c = CollectionData::new(CollectionRecord {
            id: "c".into(),
            title: "c".into(),
            description: None,
            alias: None,
            read: Grant::Everyone,
            write: Grant::Everyone,
            media_types: None,
            extra: Map::new(),
        });
        let id = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd";
        let first = sco(&format!(
            r#"{{"type":"ipv4-addr","id":"{id}","value":"1.2.3.4"}}"#
        ));
        let changed = sco(&format!(
            r#"{{"type":"ipv4-addr","id":"{id}","value":"1.2.3.4","x_seen":2}}"#
        ));
        let t = |s| Timestamp::parse(s).unwrap();
        let stable = "2020-01-01T00:00:00.000000Z".to_owned();
        assert_eq!(
            c.add(first.clone(), t("2020-01-01T00:00:00Z")),
            AddOutcome::Added {
                version: stable.clone()
            }
        );
        assert_eq!(
            c.add(changed, t("2020-01-02T00:00:00Z")),
            AddOutcome::Conflict {
                version: stable.clone()
            }
        );
        assert_eq!(
            c.add(first, t("2020-01-03T00:00:00Z")),
            AddOutcome::AlreadyPresent { version: stable }
        );
        assert_eq!(c.versions().count(), 1);
    }
}
