//! Small pieces every store uses the same way.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use sql::{Facts, Flags, decided_by_flags, flag_column, flags_of, seq_of};

/// Adds a media type to a collection's explicit list when it is new there (a collection
/// without a list accepts every supported version and lists them all).
pub(crate) fn note_media_type(media: &mut Option<Vec<String>>, media_type: &str) {
    if let Some(list) = media
        && !list.iter().any(|m| m == media_type)
    {
        list.push(media_type.to_owned());
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql {
    use taxii_model::query::{SpecSelect, VersionSelect};
    use taxii_model::select::{VersionFacts, select_versions};
    use taxii_model::{Filter, Position, SpecVersion, Timestamp};

    /// What selection needs of a stored row, without its JSON.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Facts {
        pub(crate) seq: i64,
        pub(crate) version: Timestamp,
        pub(crate) spec: SpecVersion,
        pub(crate) date_added: Timestamp,
    }

    impl VersionFacts for Facts {
        fn version(&self) -> Timestamp {
            self.version
        }
        fn spec_version(&self) -> SpecVersion {
            self.spec
        }
        fn date_added(&self) -> Timestamp {
            self.date_added
        }
    }

    /// Per stored version, what the default read filters select, so that a page with those
    /// filters never has to look at an object's other versions. Every write keeps them true.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub(crate) struct Flags {
        /// Selected with no `match[version]` nor `match[spec_version]`: the greatest version
        /// among the object's versions of its latest spec version.
        pub(crate) latest: bool,
        /// Of the object's latest spec version.
        pub(crate) top_spec: bool,
    }

    /// The flags of each of an object's versions (`all` holds every stored version of it).
    pub(crate) fn flags_of(all: &[Facts]) -> Vec<Flags> {
        let top = all.iter().map(|f| f.spec).max();
        let latest = select_versions(all, None, &SpecSelect::Latest, &VersionSelect::last());
        (0..all.len())
            .map(|i| Flags {
                latest: latest.contains(&i),
                top_spec: Some(all[i].spec) == top,
            })
            .collect()
    }

    /// Whether `filter` selects a version, from its flags alone: `None` when the object's
    /// other versions decide. Only for versions after the filter's `added_after` (pages never
    /// see others). The reasoning: the overall winner among all versions is also the winner
    /// among the subset `added_after` leaves, when it is in that subset; a loser overall can
    /// win in the subset only if `added_after` dropped the winner, so it needs a look.
    pub(crate) fn decided_by_flags(filter: &Filter, flags: Flags) -> Option<bool> {
        let undecided_loser = |won: bool| {
            if won {
                Some(true)
            } else if filter.added_after.is_none() {
                Some(false)
            } else {
                None
            }
        };
        match (&filter.spec_versions, &filter.versions) {
            (SpecSelect::Any, VersionSelect::All) => Some(true),
            (SpecSelect::Latest, VersionSelect::All) => undecided_loser(flags.top_spec),
            (SpecSelect::Latest, v) if *v == VersionSelect::last() => undecided_loser(flags.latest),
            _ => None,
        }
    }

    /// The flag column that alone decides `filter` (every version without it is dropped,
    /// every version with it kept), for a query to filter on it; `None` when no column does.
    pub(crate) fn flag_column(filter: &Filter) -> Option<&'static str> {
        if filter.added_after.is_some() || filter.spec_versions != SpecSelect::Latest {
            return None;
        }
        match &filter.versions {
            VersionSelect::All => Some("top_spec"),
            v if *v == VersionSelect::last() => Some("latest"),
            _ => None,
        }
    }

    /// A position's sequence number as SQL stores it.
    pub(crate) fn seq_of(p: Position) -> i64 {
        i64::try_from(p.seq).unwrap_or(i64::MAX)
    }
}

#[cfg(all(test, any(feature = "sqlite", feature = "postgres")))]
mod tests {
    use super::*;
    use taxii_model::query::{Selection, SpecSelect, VersionSelect};
    use taxii_model::select::select_versions;
    use taxii_model::{Filter, SpecVersion, Timestamp};

    /// Every object of up to three versions (spec 2.0/2.1, versions and arrival times in
    /// every order) under every filter the flags claim to decide: where they decide, they
    /// agree with `select_versions` over all the versions.
    #[test]
    fn flags_decide_exactly_as_selection_does() {
        let specs = [SpecVersion::V2_0, SpecVersion::V2_1];
        let mut objects: Vec<Vec<Facts>> = Vec::new();
        for n in 1..=3usize {
            let combos = (2usize * 3 * 3).pow(n as u32);
            for mut code in 0..combos {
                let mut versions = Vec::new();
                for seq in 0..n {
                    let spec = specs[code % 2];
                    code /= 2;
                    let version = (code % 3) as i64;
                    code /= 3;
                    let added = (code % 3) as i64;
                    code /= 3;
                    versions.push(Facts {
                        seq: seq as i64,
                        version: Timestamp::from_nanos(version * 10 + seq as i64),
                        spec,
                        date_added: Timestamp::from_nanos(added),
                    });
                }
                objects.push(versions);
            }
        }
        let selections = [
            VersionSelect::All,
            VersionSelect::last(),
            VersionSelect::Some(Selection {
                first: true,
                ..Selection::default()
            }),
        ];
        let spec_selects = [
            SpecSelect::Latest,
            SpecSelect::Any,
            SpecSelect::Only(vec![SpecVersion::V2_0]),
        ];
        let mut decided = 0;
        for versions in &objects {
            let flags = flags_of(versions);
            for added_after in [None, Some(0), Some(1)] {
                let added_after = added_after.map(Timestamp::from_nanos);
                for spec in &spec_selects {
                    for sel in &selections {
                        let filter = Filter {
                            added_after,
                            spec_versions: spec.clone(),
                            versions: sel.clone(),
                            ids: None,
                            types: None,
                        };
                        let chosen = select_versions(versions, added_after, spec, sel);
                        for (i, f) in flags.iter().enumerate() {
                            if added_after.is_some_and(|t| versions[i].date_added <= t) {
                                continue;
                            }
                            if let Some(keep) = decided_by_flags(&filter, *f) {
                                decided += 1;
                                assert_eq!(keep, chosen.contains(&i), "{versions:?} {filter:?}");
                            }
                            if let Some(column) = flag_column(&filter) {
                                let flag = if column == "latest" {
                                    f.latest
                                } else {
                                    f.top_spec
                                };
                                assert_eq!(flag, chosen.contains(&i), "{versions:?} {filter:?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(decided > 10_000, "the flags decided only {decided} cases");
    }
}
