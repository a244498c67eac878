//! The layout (API roots and the stored discovery resource) that every request routes by, read
//! from the store and reused for [`LAYOUT_TTL`], so a request does not cost two store reads
//! before its own.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use parking_lot::RwLock;
use serde_json::{Map, Value};
use taxii_store::{ApiRootRecord, Store, StoreResult};

/// How long a layout read from the store is served before it is read again. Nothing in the
/// HTTP API writes the layout; it changes only through the admin CLI (`taxiid api-root`,
/// `import`) or another node sharing a PostgreSQL database, and such a change becomes visible
/// within this time.
pub const LAYOUT_TTL: Duration = Duration::from_secs(1);

/// The API roots and the stored discovery resource, as one store read found them.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub roots: Vec<ApiRootRecord>,
    pub discovery: Option<Map<String, Value>>,
    /// The discovery response body, rendered by the first request that needs it and reused
    /// while this layout is: discovery is the most frequent request of many clients.
    pub discovery_body: OnceLock<Bytes>,
}

impl Layout {
    /// Reads both parts from the store.
    pub async fn load(store: &dyn Store) -> StoreResult<Layout> {
        Ok(Layout {
            roots: store.api_roots().await?,
            discovery: store.discovery().await?,
            discovery_body: OnceLock::new(),
        })
    }
}

/// The last layout read and when its read began. Concurrent refreshes are allowed; the one
/// that began last is kept. A failed read is returned to its caller and never kept.
#[derive(Debug)]
pub struct LayoutCache {
    ttl: Duration,
    current: RwLock<Option<(Instant, Arc<Layout>)>>,
}

impl Default for LayoutCache {
    fn default() -> Self {
        Self::new(LAYOUT_TTL)
    }
}

impl LayoutCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            current: RwLock::new(None),
        }
    }

    /// The layout, read from `store` if the kept one is older than the time-to-live.
    pub async fn get(&self, store: &dyn Store) -> StoreResult<Arc<Layout>> {
        self.get_or_load(Instant::now(), || Layout::load(store))
            .await
    }

    /// The kept layout if its read began less than the time-to-live before `now`, else `load`'s.
    async fn get_or_load<F, Fut>(&self, now: Instant, load: F) -> StoreResult<Arc<Layout>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = StoreResult<Layout>>,
    {
        if let Some((read_at, layout)) = &*self.current.read()
            && now.saturating_duration_since(*read_at) < self.ttl
        {
            return Ok(Arc::clone(layout));
        }
        // Stamped with the start of the read: a change committed before it is visible, so no
        // layout is served longer than the time-to-live after a change.
        let layout = Arc::new(load().await?);
        let mut current = self.current.write();
        if current.as_ref().is_none_or(|(kept, _)| *kept <= now) {
            *current = Some((now, Arc::clone(&layout)));
        }
        Ok(layout)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;
    use taxii_store::StoreError;
    use taxii_store::memory::MemoryStore;

    use super::*;

    fn root(name: &str) -> ApiRootRecord {
        let Value::Object(information) =
            json!({"title": name, "versions": ["application/taxii+json;version=2.1"]})
        else {
            unreachable!()
        };
        ApiRootRecord {
            name: name.into(),
            information,
        }
    }

    async fn store_with(names: &[&str]) -> MemoryStore {
        let store = MemoryStore::new();
        for name in names {
            store.put_api_root(root(name)).await.unwrap();
        }
        store
    }

    fn names(layout: &Layout) -> Vec<&str> {
        layout.roots.iter().map(|r| r.name.as_str()).collect()
    }

    #[tokio::test]
    async fn a_second_read_within_the_ttl_does_not_read_the_store() {
        let store = store_with(&["api1"]).await;
        let cache = LayoutCache::new(Duration::from_secs(60));
        let first = cache.get(&store).await.unwrap();
        assert_eq!(names(&first), ["api1"]);
        assert_eq!(first.discovery, None);

        // The store changes; the kept layout is still served, the very same one.
        store.put_api_root(root("api2")).await.unwrap();
        let mut doc = Map::new();
        doc.insert("title".into(), "changed".into());
        store.set_discovery(Some(doc)).await.unwrap();
        let second = cache.get(&store).await.unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(names(&second), ["api1"]);
        assert_eq!(second.discovery, None);

        // And no loader runs at all until the time-to-live has passed.
        let start = Instant::now();
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Layout::load(&store).await
        };
        let third = cache.get_or_load(start, load).await.unwrap();
        assert!(Arc::ptr_eq(&first, &third));
        assert_eq!(loads.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_change_in_the_store_is_visible_after_the_ttl() {
        let store = store_with(&["api1"]).await;
        let ttl = Duration::from_secs(1);
        let cache = LayoutCache::new(ttl);
        let start = Instant::now();
        let load = || Layout::load(&store);
        assert_eq!(
            names(&cache.get_or_load(start, load).await.unwrap()),
            ["api1"]
        );

        store.put_api_root(root("api2")).await.unwrap();
        let mut doc = Map::new();
        doc.insert("title".into(), "changed".into());
        store.set_discovery(Some(doc.clone())).await.unwrap();
        let just_before = start + ttl - Duration::from_millis(1);
        let l = cache.get_or_load(just_before, load).await.unwrap();
        assert_eq!(names(&l), ["api1"]);
        let l = cache.get_or_load(start + ttl, load).await.unwrap();
        assert_eq!(names(&l), ["api1", "api2"]);
        assert_eq!(l.discovery, Some(doc));

        // The same on the real clock, with a short time-to-live.
        let cache = LayoutCache::new(Duration::from_millis(20));
        assert_eq!(names(&cache.get(&store).await.unwrap()), ["api1", "api2"]);
        store.put_api_root(root("api3")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let l = cache.get(&store).await.unwrap();
        assert_eq!(names(&l), ["api1", "api2", "api3"]);
    }

    #[tokio::test]
    async fn a_store_error_is_returned_and_never_kept() {
        let store = store_with(&["api1"]).await;
        let cache = LayoutCache::new(Duration::from_secs(60));
        let now = Instant::now();
        let loads = AtomicUsize::new(0);
        let failing = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Unavailable("down".into()))
        };
        let e = cache.get_or_load(now, failing).await.unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
        // Not kept: the next request reads again, fails again, then succeeds once it can.
        assert!(cache.get_or_load(now, failing).await.is_err());
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        let l = cache
            .get_or_load(now, || Layout::load(&store))
            .await
            .unwrap();
        assert_eq!(names(&l), ["api1"]);

        // A failure after the time-to-live is returned too, and the old layout is not served
        // in its place (a store that does not answer is reported, as before the cache).
        let later = now + Duration::from_secs(60);
        assert!(cache.get_or_load(later, failing).await.is_err());
        assert_eq!(loads.load(Ordering::SeqCst), 3);
    }
}
