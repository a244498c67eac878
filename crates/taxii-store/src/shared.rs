//! Small pieces every store uses the same way.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use sql::{Facts, seq_of};

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
    use taxii_model::select::VersionFacts;
    use taxii_model::{Position, SpecVersion, Timestamp};

    /// What selection needs of a stored row, without its JSON.
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

    /// A position's sequence number as SQL stores it.
    pub(crate) fn seq_of(p: Position) -> i64 {
        i64::try_from(p.seq).unwrap_or(i64::MAX)
    }
}
