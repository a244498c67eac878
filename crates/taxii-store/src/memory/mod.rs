//! The in-memory store: the reference semantics every other store must match, and the home of
//! medallion data files (loaded with [`MemoryStore::from_medallion`], saved with
//! [`MemoryStore::to_medallion`]).
//!
//! One `RwLock` over everything; it is never held across an `.await` (every method does its
//! work synchronously inside the lock).

mod collection;
mod medallion;

use std::collections::BTreeMap;

use async_trait::async_trait;
use parking_lot::RwLock;
use serde_json::{Map, Value};
use taxii_model::{Filter, NewObject, Timestamp};

use crate::{
    AddOutcome, ApiRootRecord, CollectionRecord, ListQuery, Page, StatusRecord, Store, StoreError,
    StoreResult, StoredVersion, TokenRecord, UserRecord,
};
use collection::CollectionData;
pub use medallion::MedallionFileError;

#[derive(Debug, Default)]
pub struct MemoryStore {
    data: RwLock<Data>,
}

#[derive(Debug, Default)]
struct Data {
    discovery: Option<Map<String, Value>>,
    roots: BTreeMap<String, RootData>,
    users: BTreeMap<String, UserRecord>,
    tokens: BTreeMap<String, TokenRecord>,
    meta: BTreeMap<String, String>,
}

#[derive(Debug)]
struct RootData {
    information: Map<String, Value>,
    /// Ordered by id.
    collections: BTreeMap<String, CollectionData>,
    /// In creation order, so a saved file lists them as they came.
    statuses: Vec<StatusRecord>,
}

fn no_root(api_root: &str) -> StoreError {
    StoreError::Backend(format!("no API root '{api_root}'"))
}

fn no_collection(api_root: &str, id: &str) -> StoreError {
    StoreError::Backend(format!("no collection '{id}' in API root '{api_root}'"))
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn with_collection<T>(
        &self,
        api_root: &str,
        collection_id: &str,
        f: impl FnOnce(&CollectionData) -> T,
    ) -> StoreResult<T> {
        let data = self.data.read();
        let root = data.roots.get(api_root).ok_or_else(|| no_root(api_root))?;
        let coll = root
            .collections
            .get(collection_id)
            .ok_or_else(|| no_collection(api_root, collection_id))?;
        Ok(f(coll))
    }

    fn with_collection_mut<T>(
        &self,
        api_root: &str,
        collection_id: &str,
        f: impl FnOnce(&mut CollectionData) -> T,
    ) -> StoreResult<T> {
        let mut data = self.data.write();
        let root = data
            .roots
            .get_mut(api_root)
            .ok_or_else(|| no_root(api_root))?;
        let coll = root
            .collections
            .get_mut(collection_id)
            .ok_or_else(|| no_collection(api_root, collection_id))?;
        Ok(f(coll))
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn discovery(&self) -> StoreResult<Option<Map<String, Value>>> {
        Ok(self.data.read().discovery.clone())
    }

    async fn set_discovery(&self, discovery: Option<Map<String, Value>>) -> StoreResult<()> {
        self.data.write().discovery = discovery;
        Ok(())
    }

    async fn api_roots(&self) -> StoreResult<Vec<ApiRootRecord>> {
        Ok(self
            .data
            .read()
            .roots
            .iter()
            .map(|(name, r)| ApiRootRecord {
                name: name.clone(),
                information: r.information.clone(),
            })
            .collect())
    }

    async fn put_api_root(&self, root: ApiRootRecord) -> StoreResult<()> {
        let mut data = self.data.write();
        match data.roots.get_mut(&root.name) {
            Some(existing) => existing.information = root.information,
            None => {
                data.roots.insert(
                    root.name,
                    RootData {
                        information: root.information,
                        collections: BTreeMap::new(),
                        statuses: Vec::new(),
                    },
                );
            }
        }
        Ok(())
    }

    async fn collections(&self, api_root: &str) -> StoreResult<Vec<CollectionRecord>> {
        let data = self.data.read();
        Ok(data
            .roots
            .get(api_root)
            .map(|r| r.collections.values().map(|c| c.meta.clone()).collect())
            .unwrap_or_default())
    }

    async fn collection(
        &self,
        api_root: &str,
        id_or_alias: &str,
    ) -> StoreResult<Option<CollectionRecord>> {
        let data = self.data.read();
        let Some(root) = data.roots.get(api_root) else {
            return Ok(None);
        };
        let found = root.collections.get(id_or_alias).or_else(|| {
            root.collections
                .values()
                .find(|c| c.meta.alias.as_deref() == Some(id_or_alias))
        });
        Ok(found.map(|c| c.meta.clone()))
    }

    async fn put_collection(
        &self,
        api_root: &str,
        collection: CollectionRecord,
    ) -> StoreResult<()> {
        let mut data = self.data.write();
        let root = data
            .roots
            .get_mut(api_root)
            .ok_or_else(|| no_root(api_root))?;
        // As the SQL stores' unique index does: one alias names one collection.
        if let Some(alias) = &collection.alias
            && let Some(other) = root
                .collections
                .values()
                .find(|c| c.meta.id != collection.id && c.meta.alias.as_ref() == Some(alias))
        {
            return Err(StoreError::Backend(format!(
                "API root '{api_root}': alias '{alias}' is already used by collection {}",
                other.meta.id
            )));
        }
        match root.collections.get_mut(&collection.id) {
            Some(existing) => existing.meta = collection,
            None => {
                root.collections
                    .insert(collection.id.clone(), CollectionData::new(collection));
            }
        }
        Ok(())
    }

    async fn remove_collection(&self, api_root: &str, id: &str) -> StoreResult<bool> {
        let mut data = self.data.write();
        Ok(data
            .roots
            .get_mut(api_root)
            .and_then(|r| r.collections.remove(id))
            .is_some())
    }

    async fn import_versions(
        &self,
        api_root: &str,
        collection_id: &str,
        versions: Vec<StoredVersion>,
    ) -> StoreResult<u64> {
        self.with_collection_mut(api_root, collection_id, |coll| {
            versions
                .into_iter()
                .map(|v| u64::from(coll.import(v)))
                .sum()
        })
    }

    async fn add_objects(
        &self,
        api_root: &str,
        collection_id: &str,
        objects: Vec<NewObject>,
        now: Timestamp,
    ) -> StoreResult<Vec<AddOutcome>> {
        self.with_collection_mut(api_root, collection_id, |coll| {
            objects.into_iter().map(|o| coll.add(o, now)).collect()
        })
    }

    async fn list(
        &self,
        api_root: &str,
        collection_id: &str,
        query: &ListQuery<'_>,
    ) -> StoreResult<Page<StoredVersion>> {
        self.with_collection(api_root, collection_id, |coll| coll.list(query))
    }

    async fn count_versions(&self) -> StoreResult<u64> {
        let data = self.data.read();
        let n: usize = data
            .roots
            .values()
            .flat_map(|r| r.collections.values())
            .map(CollectionData::version_count)
            .sum();
        Ok(n as u64)
    }

    async fn object_exists(
        &self,
        api_root: &str,
        collection_id: &str,
        object_id: &str,
    ) -> StoreResult<bool> {
        self.with_collection(api_root, collection_id, |coll| coll.contains(object_id))
    }

    async fn delete_versions(
        &self,
        api_root: &str,
        collection_id: &str,
        object_id: &str,
        filter: &Filter,
    ) -> StoreResult<u64> {
        self.with_collection_mut(api_root, collection_id, |coll| {
            coll.delete(object_id, filter)
        })
    }

    async fn put_status(&self, status: StatusRecord) -> StoreResult<()> {
        let mut data = self.data.write();
        let root = data
            .roots
            .get_mut(&status.api_root)
            .ok_or_else(|| no_root(&status.api_root))?;
        root.statuses.retain(|s| s.id != status.id);
        root.statuses.push(status);
        Ok(())
    }

    async fn statuses(&self, api_root: &str) -> StoreResult<Vec<StatusRecord>> {
        let data = self.data.read();
        Ok(data
            .roots
            .get(api_root)
            .map(|r| r.statuses.clone())
            .unwrap_or_default())
    }

    async fn status(&self, api_root: &str, id: &str) -> StoreResult<Option<StatusRecord>> {
        let data = self.data.read();
        Ok(data
            .roots
            .get(api_root)
            .and_then(|r| r.statuses.iter().find(|s| s.id == id))
            .cloned())
    }

    async fn purge_statuses(&self, created_before: Timestamp) -> StoreResult<u64> {
        let mut data = self.data.write();
        let mut purged = 0;
        for root in data.roots.values_mut() {
            let before = root.statuses.len();
            root.statuses.retain(|s| s.created >= created_before);
            purged += (before - root.statuses.len()) as u64;
        }
        Ok(purged)
    }

    async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        Ok(self.data.read().users.values().cloned().collect())
    }

    async fn user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        Ok(self.data.read().users.get(name).cloned())
    }

    async fn put_user(&self, user: UserRecord) -> StoreResult<()> {
        self.data.write().users.insert(user.name.clone(), user);
        Ok(())
    }

    async fn insert_user(&self, user: UserRecord) -> StoreResult<bool> {
        let mut data = self.data.write();
        if data.users.contains_key(&user.name) {
            return Ok(false);
        }
        data.users.insert(user.name.clone(), user);
        Ok(true)
    }

    async fn remove_user(&self, name: &str) -> StoreResult<bool> {
        let mut data = self.data.write();
        data.tokens.retain(|_, t| t.user != name);
        Ok(data.users.remove(name).is_some())
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        Ok(self.data.read().tokens.values().cloned().collect())
    }

    async fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        Ok(self.data.read().tokens.get(id).cloned())
    }

    async fn insert_token(&self, token: TokenRecord) -> StoreResult<bool> {
        let mut data = self.data.write();
        if data.tokens.contains_key(&token.id) {
            return Ok(false);
        }
        data.tokens.insert(token.id.clone(), token);
        Ok(true)
    }

    async fn remove_token(&self, id: &str) -> StoreResult<bool> {
        Ok(self.data.write().tokens.remove(id).is_some())
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.data.read().meta.get(key).cloned())
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        self.data
            .write()
            .meta
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    async fn init_meta(&self, key: &str, value: &str) -> StoreResult<String> {
        Ok(self
            .data
            .write()
            .meta
            .entry(key.to_owned())
            .or_insert_with(|| value.to_owned())
            .clone())
    }

    async fn health(&self) -> StoreResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_passes_the_store_test_suite() {
        crate::testsuite::run_all(|| async { std::sync::Arc::new(MemoryStore::new()) as _ }).await;
    }
}
