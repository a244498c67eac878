//! TAXII 2.1 types and rules with no I/O: timestamps, media types and negotiation, query
//! parameters, STIX object heads and version selection. Every store and the HTTP layer share
//! these, so a rule is written once.

pub mod items;
pub mod json;
pub mod media;
pub mod object;
pub mod query;
pub mod select;
pub mod time;

pub use object::{NewObject, ObjectFailure, SpecVersion, VersionKey};
pub use query::{Filter, FilterSpec, Paging, Params, QueryError, SpecSelect, VersionSelect};
pub use time::{Clock, Timestamp};

/// A position in a collection's `date_added` order: the instant plus a per-collection sequence
/// number that breaks ties (objects loaded from a medallion file may share a `date_added`).
/// Pages are cut by seeking past a position, never by counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub date_added: Timestamp,
    pub seq: u64,
}
