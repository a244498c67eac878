//! Which versions of one object a filter selects (TAXII 2.1 §3.4.1), written once for every
//! store. Order of application, as decided in the digest:
//! 1. `added_after` drops versions added at or before the given instant;
//! 2. `match[spec_version]` keeps the listed spec versions, or by default only the object's
//!    latest spec version among what is left;
//! 3. `match[version]` keeps `all`, or the union of `first`, `last` (by version instant, not by
//!    arrival) and exact versions.

use crate::object::SpecVersion;
use crate::query::{SpecSelect, VersionSelect};
use crate::time::Timestamp;

/// What selection needs to know about one stored version.
pub trait VersionFacts {
    fn version(&self) -> Timestamp;
    fn spec_version(&self) -> SpecVersion;
    fn date_added(&self) -> Timestamp;
}

impl<T: VersionFacts + ?Sized> VersionFacts for &T {
    fn version(&self) -> Timestamp {
        (**self).version()
    }
    fn spec_version(&self) -> SpecVersion {
        (**self).spec_version()
    }
    fn date_added(&self) -> Timestamp {
        (**self).date_added()
    }
}

/// The indices into `versions` (all stored versions of one object) that the filter selects.
pub fn select_versions<T: VersionFacts>(
    versions: &[T],
    added_after: Option<Timestamp>,
    spec: &SpecSelect,
    select: &VersionSelect,
) -> Vec<usize> {
    let mut kept: Vec<usize> = (0..versions.len())
        .filter(|&i| added_after.is_none_or(|t| versions[i].date_added() > t))
        .collect();
    match spec {
        SpecSelect::Any => {}
        SpecSelect::Only(list) => kept.retain(|&i| list.contains(&versions[i].spec_version())),
        SpecSelect::Latest => {
            if let Some(latest) = kept.iter().map(|&i| versions[i].spec_version()).max() {
                kept.retain(|&i| versions[i].spec_version() == latest);
            }
        }
    }
    let VersionSelect::Some(sel) = select else {
        return kept;
    };
    let by_version = |i: &&usize| versions[**i].version();
    let first = sel
        .first
        .then(|| kept.iter().min_by_key(by_version))
        .flatten()
        .copied();
    let last = sel
        .last
        .then(|| kept.iter().max_by_key(by_version))
        .flatten()
        .copied();
    kept.retain(|&i| {
        Some(i) == first || Some(i) == last || sel.exact.contains(&versions[i].version())
    });
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Selection;

    struct V(i64, SpecVersion, i64);
    impl VersionFacts for V {
        fn version(&self) -> Timestamp {
            Timestamp::from_nanos(self.0)
        }
        fn spec_version(&self) -> SpecVersion {
            self.1
        }
        fn date_added(&self) -> Timestamp {
            Timestamp::from_nanos(self.2)
        }
    }

    const A: SpecVersion = SpecVersion::V2_0;
    const B: SpecVersion = SpecVersion::V2_1;

    fn sel(first: bool, last: bool, exact: &[i64]) -> VersionSelect {
        VersionSelect::Some(Selection {
            first,
            last,
            exact: exact.iter().map(|n| Timestamp::from_nanos(*n)).collect(),
        })
    }

    #[test]
    fn last_is_the_greatest_version_not_the_latest_arrival() {
        let v = [V(30, B, 1), V(10, B, 2), V(20, B, 3)];
        assert_eq!(
            select_versions(&v, None, &SpecSelect::Latest, &sel(false, true, &[])),
            [0]
        );
        assert_eq!(
            select_versions(&v, None, &SpecSelect::Latest, &sel(true, false, &[])),
            [1]
        );
        assert_eq!(
            select_versions(&v, None, &SpecSelect::Latest, &sel(true, true, &[])),
            [0, 1]
        );
        assert_eq!(
            select_versions(&v, None, &SpecSelect::Latest, &VersionSelect::All),
            [0, 1, 2]
        );
        assert_eq!(
            select_versions(&v, None, &SpecSelect::Latest, &sel(false, false, &[20, 99])),
            [2]
        );
    }

    #[test]
    fn first_and_last_coincide_once() {
        let v = [V(30, B, 1)];
        assert_eq!(
            select_versions(&v, None, &SpecSelect::Latest, &sel(true, true, &[30])),
            [0]
        );
    }

    #[test]
    fn latest_spec_version_hides_older_spec_versions_before_picking_last() {
        // A 2.0 version modified later than the 2.1 one is still hidden by default.
        let v = [V(2018, A, 1), V(2017, B, 2)];
        assert_eq!(
            select_versions(&v, None, &SpecSelect::Latest, &VersionSelect::last()),
            [1]
        );
        assert_eq!(
            select_versions(&v, None, &SpecSelect::Any, &VersionSelect::last()),
            [0]
        );
        assert_eq!(
            select_versions(&v, None, &SpecSelect::Only(vec![A]), &VersionSelect::All),
            [0]
        );
    }

    #[test]
    fn added_after_applies_before_first_and_last() {
        let v = [V(10, B, 100), V(20, B, 200)];
        let t = Some(Timestamp::from_nanos(150));
        assert_eq!(
            select_versions(&v, t, &SpecSelect::Latest, &sel(true, false, &[])),
            [1]
        );
        let t = Some(Timestamp::from_nanos(200));
        assert!(select_versions(&v, t, &SpecSelect::Latest, &VersionSelect::All).is_empty());
    }
}
