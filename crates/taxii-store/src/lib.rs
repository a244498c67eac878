//! The storage interface of taxiid, in TAXII terms, and its backends.
//!
//! Each method is one TAXII use case and, in a transactional backend, one transaction. Version
//! selection rules come from `taxii_model::select`; a backend only finds candidates fast (by
//! `date_added` order, id or type) and applies them. Expected per-object outcomes of an add are
//! data ([`AddOutcome`]); [`StoreError`] is for infrastructure failures only.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use taxii_model::select::VersionFacts;
use taxii_model::{Filter, NewObject, Position, SpecVersion, Timestamp};

pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod shared;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached now (connection refused, pool exhausted): 503.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A stored record cannot be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage failure: {0}")]
    Backend(String),
}

/// An API root: its path below the host (`api1`, or `org/a/api1` for a nested one) and its
/// information resource as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRootRecord {
    pub name: String,
    pub information: Map<String, Value>,
}

/// Who may read, or write, a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Every authenticated user.
    Everyone,
    Nobody,
    Users(BTreeSet<String>),
    /// Everyone, unauthenticated callers included (anonymous read; never for writing).
    Public,
}

impl Grant {
    /// medallion's collection-wide `can_read`/`can_write` flag.
    pub fn from_flag(flag: bool) -> Self {
        if flag { Grant::Everyone } else { Grant::Nobody }
    }

    /// Whether an authenticated user is allowed.
    pub fn allows(&self, user: &str) -> bool {
        self.allows_caller(Some(user))
    }

    /// Whether a caller is allowed: `None` is an unauthenticated one.
    pub fn allows_caller(&self, user: Option<&str>) -> bool {
        match (self, user) {
            (Grant::Public, _) => true,
            (_, None) | (Grant::Nobody, _) => false,
            (Grant::Everyone, Some(_)) => true,
            (Grant::Users(users), Some(u)) => users.contains(u),
        }
    }

    /// Stored form: `true`, `false`, a list of user names or `"public"`.
    pub fn to_json(&self) -> Value {
        match self {
            Grant::Everyone => Value::Bool(true),
            Grant::Nobody => Value::Bool(false),
            Grant::Users(users) => users.iter().cloned().collect(),
            Grant::Public => Value::from("public"),
        }
    }

    pub fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(Grant::from_flag(*b)),
            Value::String(s) if s == "public" => Some(Grant::Public),
            Value::Array(a) => a
                .iter()
                .map(|u| u.as_str().map(str::to_owned))
                .collect::<Option<BTreeSet<_>>>()
                .map(Grant::Users),
            _ => None,
        }
    }
}

/// A collection's stored description.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionRecord {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub alias: Option<String>,
    /// Who may read; the collection resource's `can_read` is this, evaluated for the caller.
    pub read: Grant,
    pub write: Grant,
    /// `None` when not configured: the collection accepts every supported STIX version.
    pub media_types: Option<Vec<String>>,
    /// Other members of the stored collection, passed through as medallion does.
    pub extra: Map<String, Value>,
}

/// One stored version of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVersion {
    pub id: String,
    pub type_: String,
    pub version: Timestamp,
    /// The version as the object (or the imported manifest) writes it, echoed exactly.
    pub version_text: String,
    pub spec_version: SpecVersion,
    pub media_type: String,
    pub position: Position,
    /// The object's JSON text, as received.
    pub json: Arc<str>,
}

impl StoredVersion {
    pub fn date_added(&self) -> Timestamp {
        self.position.date_added
    }
}

impl VersionFacts for StoredVersion {
    fn version(&self) -> Timestamp {
        self.version
    }
    fn spec_version(&self) -> SpecVersion {
        self.spec_version
    }
    fn date_added(&self) -> Timestamp {
        self.position.date_added
    }
}

/// A page request over a collection (or one object of it).
#[derive(Debug, Clone)]
pub struct ListQuery<'a> {
    pub filter: &'a Filter,
    /// Restricts the listing to one object (GET object, GET versions).
    pub object_id: Option<&'a str>,
    /// Resume strictly after this position (from a `next` token).
    pub after: Option<Position>,
    pub limit: usize,
}

/// The position every record of a page must lie strictly after: the later of the `next`
/// cursor and `added_after` (a record at or before either can never be on the page).
pub fn page_floor(after: Option<Position>, added_after: Option<Timestamp>) -> Option<Position> {
    let added = added_after.map(|t| Position {
        date_added: t,
        seq: u64::MAX,
    });
    after.max(added)
}

/// A TAXII 2.0 item range over a collection (or one object of it): items `offset` to
/// `offset + limit - 1` of what `filter` selects, in `date_added` order, and how many there are.
#[derive(Debug, Clone)]
pub struct RangeQuery<'a> {
    pub filter: &'a Filter,
    pub object_id: Option<&'a str>,
    /// Only selected versions of this STIX version are items (`None`: every one).
    pub spec: Option<SpecVersion>,
    pub offset: u64,
    pub limit: usize,
}

/// One item range and the number of items in the whole result.
#[derive(Debug, Clone, PartialEq)]
pub struct RangePage {
    pub items: Vec<StoredVersion>,
    pub total: u64,
}

/// [`Store::list_range`] by walking [`Store::list`] a thousand records at a time: every
/// selected record is read once to count it, and only the range is kept.
pub async fn walk_range<S: Store + ?Sized>(
    store: &S,
    api_root: &str,
    collection_id: &str,
    q: &RangeQuery<'_>,
) -> StoreResult<RangePage> {
    const CHUNK: usize = 1000;
    let mut after = None;
    let mut total: u64 = 0;
    let mut items = Vec::with_capacity(q.limit.min(CHUNK));
    loop {
        let query = ListQuery {
            filter: q.filter,
            object_id: q.object_id,
            after,
            limit: CHUNK,
        };
        let page = store.list(api_root, collection_id, &query).await?;
        after = page.items.last().map(|v| v.position);
        let wanted = |v: &StoredVersion| q.spec.is_none_or(|s| v.spec_version == s);
        for v in page.items.into_iter().filter(wanted) {
            if total >= q.offset && items.len() < q.limit {
                items.push(v);
            }
            total += 1;
        }
        if !page.more || after.is_none() {
            return Ok(RangePage { items, total });
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// More records match after the last one of this page.
    pub more: bool,
}

/// What became of one object of an Add Objects request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    Added {
        version: String,
    },
    /// The same version with the same content was already stored: a success.
    AlreadyPresent {
        version: String,
    },
    /// The same version with different content is stored: the new one is refused.
    Conflict {
        version: String,
    },
}

/// A status resource as stored: its JSON text is served verbatim.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRecord {
    pub api_root: String,
    pub id: String,
    /// The user who created it; `None` for imported statuses (visible to every user).
    pub owner: Option<String>,
    /// When it was created or imported; retention counts from here.
    pub created: Timestamp,
    pub json: String,
}

/// Builds an envelope's status record from the outcomes of its objects (see
/// [`Store::add_envelope`]).
pub type StatusOf = Box<dyn FnOnce(&[AddOutcome]) -> StatusRecord + Send>;

/// A user account kept in the store (first-start admin, admin CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    /// A PHC-format password hash (`$argon2id$…`); never a plaintext password.
    pub password_hash: String,
}

/// An API token kept in the store. The token a client sends is `taxiid_<id>_<secret>`; only a
/// SHA-256 digest of the secret is kept (the secret is 256 random bits, so a slow hash would
/// add nothing but cost per request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The public part, shown by `taxiid token list` and used to revoke it.
    pub id: String,
    /// The user the token acts as.
    pub user: String,
    /// Lowercase hex SHA-256 of the secret part.
    pub secret_sha256: String,
    /// What the token is for, as its creator described it.
    pub label: Option<String>,
    pub created: Timestamp,
    /// After this instant the token authenticates nothing; `None` never expires.
    pub expires: Option<Timestamp>,
}

#[async_trait]
pub trait Store: Send + Sync + Debug {
    /// `memory`, `sqlite`, ... for logs and health output.
    fn backend(&self) -> &'static str;

    /// The stored discovery resource, if one was configured or imported.
    async fn discovery(&self) -> StoreResult<Option<Map<String, Value>>>;
    async fn set_discovery(&self, discovery: Option<Map<String, Value>>) -> StoreResult<()>;

    async fn api_roots(&self) -> StoreResult<Vec<ApiRootRecord>>;
    async fn put_api_root(&self, root: ApiRootRecord) -> StoreResult<()>;

    /// The collections of an API root, ordered by id.
    async fn collections(&self, api_root: &str) -> StoreResult<Vec<CollectionRecord>>;
    /// Looks a collection up by id, or by alias.
    async fn collection(
        &self,
        api_root: &str,
        id_or_alias: &str,
    ) -> StoreResult<Option<CollectionRecord>>;
    async fn put_collection(&self, api_root: &str, collection: CollectionRecord)
    -> StoreResult<()>;
    /// Removes a collection with its objects; `false` when there was none.
    async fn remove_collection(&self, api_root: &str, id: &str) -> StoreResult<bool>;

    /// Stores the objects in order, atomically, giving each added version a `date_added`
    /// strictly after every earlier one of the collection and not before `now`.
    async fn add_objects(
        &self,
        api_root: &str,
        collection_id: &str,
        objects: Vec<NewObject>,
        now: Timestamp,
    ) -> StoreResult<Vec<AddOutcome>>;

    /// `add_objects`, then `put_status` of the status `status_of` makes of the outcomes. The
    /// SQL stores do both in one transaction: an acknowledged envelope always has its status
    /// (a crash cannot leave the objects without it), and the envelope costs one commit.
    async fn add_envelope(
        &self,
        api_root: &str,
        collection_id: &str,
        objects: Vec<NewObject>,
        now: Timestamp,
        status_of: StatusOf,
    ) -> StoreResult<StatusRecord> {
        let outcomes = self
            .add_objects(api_root, collection_id, objects, now)
            .await?;
        let status = status_of(&outcomes);
        self.put_status(status.clone()).await?;
        Ok(status)
    }

    /// One page of the versions the filter selects, in `date_added` order.
    async fn list(
        &self,
        api_root: &str,
        collection_id: &str,
        query: &ListQuery<'_>,
    ) -> StoreResult<Page<StoredVersion>>;

    /// TAXII 2.0's item ranges, which need the size of the whole result. The default walks
    /// `list` ([`walk_range`]); the SQL stores count and skip in the query where the selection
    /// flags decide the filter.
    async fn list_range(
        &self,
        api_root: &str,
        collection_id: &str,
        query: &RangeQuery<'_>,
    ) -> StoreResult<RangePage> {
        walk_range(self, api_root, collection_id, query).await
    }

    /// Object versions stored, in every collection (for the `taxiid_object_versions` metric).
    async fn count_versions(&self) -> StoreResult<u64>;

    async fn object_exists(
        &self,
        api_root: &str,
        collection_id: &str,
        object_id: &str,
    ) -> StoreResult<bool>;

    /// Deletes the versions of one object that the filter selects; returns how many went.
    async fn delete_versions(
        &self,
        api_root: &str,
        collection_id: &str,
        object_id: &str,
        filter: &Filter,
    ) -> StoreResult<u64>;

    /// Stores versions exactly as given (their `date_added`, version text and media type), as
    /// an import does. Versions whose (id, version) is already stored are skipped, so importing
    /// twice changes nothing. Returns how many were stored.
    async fn import_versions(
        &self,
        api_root: &str,
        collection_id: &str,
        versions: Vec<StoredVersion>,
    ) -> StoreResult<u64>;

    async fn put_status(&self, status: StatusRecord) -> StoreResult<()>;
    /// Every status of an API root, oldest first (for export).
    async fn statuses(&self, api_root: &str) -> StoreResult<Vec<StatusRecord>>;
    async fn status(&self, api_root: &str, id: &str) -> StoreResult<Option<StatusRecord>>;
    /// Removes statuses created before the instant; returns how many went.
    async fn purge_statuses(&self, created_before: Timestamp) -> StoreResult<u64>;

    async fn users(&self) -> StoreResult<Vec<UserRecord>>;
    async fn user(&self, name: &str) -> StoreResult<Option<UserRecord>>;
    /// Creates the user or replaces its password hash.
    async fn put_user(&self, user: UserRecord) -> StoreResult<()>;
    /// Creates the user unless one of that name exists; `true` when this call created it.
    /// Two nodes that start at once create one first-start account this way.
    async fn insert_user(&self, user: UserRecord) -> StoreResult<bool>;
    /// Removes the user and every token of theirs.
    async fn remove_user(&self, name: &str) -> StoreResult<bool>;

    /// Every API token, by id.
    async fn tokens(&self) -> StoreResult<Vec<TokenRecord>>;
    async fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>>;
    /// Stores a new token; `false` (and nothing stored) when one with its id exists.
    async fn insert_token(&self, token: TokenRecord) -> StoreResult<bool>;
    /// Revokes a token; `false` when there was none.
    async fn remove_token(&self, id: &str) -> StoreResult<bool>;

    /// Small named values the server keeps for itself (e.g. the `next` token key).
    async fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;
    /// Stores `value` under `key` unless a value is there already; returns the value kept. Two
    /// nodes that start at once agree on one value this way.
    async fn init_meta(&self, key: &str, value: &str) -> StoreResult<String>;

    async fn health(&self) -> StoreResult<()>;
}
