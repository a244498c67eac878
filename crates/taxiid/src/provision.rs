//! What every start does to an opened store: writes the configured API roots, collections and
//! discovery information; gives a store without API roots the default one; creates the
//! first-start admin account; and finds (or makes and keeps) the `next` cursor key.
//!
//! On a store several nodes share (PostgreSQL), two nodes may start at once on a new
//! database. The store's unique constraints refuse the second of two collections with one
//! alias, so that step is tried again against what the other node wrote; the cursor key and
//! the first-start account are written with "insert unless present" operations
//! (`Store::init_meta`, `Store::insert_user`), so exactly one of each is kept, every node
//! uses the kept key, and only the node whose account was kept prints a password.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use taxii_model::media::TAXII_21;
use taxii_store::{ApiRootRecord, CollectionRecord, Grant, Store, UserRecord};

use crate::native_config::{DiscoverySection, Layout};
use crate::resolve::{AdminAccount, Resolved};

/// The store meta value holding the generated cursor key.
pub const CURSOR_KEY_META: &str = "next_token_secret";

fn store_err(e: taxii_store::StoreError) -> String {
    format!("store: {e}")
}

/// How often the layout of a shared store is tried again after a conflict.
const LAYOUT_ATTEMPTS: u32 = 3;

/// Prepares the store for serving; returns the `next` cursor key.
pub async fn provision(store: &dyn Store, r: &Resolved) -> Result<Vec<u8>, String> {
    let mut attempt = 1;
    loop {
        match layout_and_default(store, r).await {
            Ok(()) => break,
            // Another node wrote the same layout at the same moment; what it wrote is now
            // visible, so the next attempt finds it instead of conflicting.
            Err(e) if attempt < LAYOUT_ATTEMPTS => {
                tracing::debug!(attempt, "provisioning conflicted, trying again: {e}");
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
    ensure_admin(store, &r.users, &r.admin).await?;
    warn_about_unknown_grantees(store, &r.users).await?;
    cursor_key(store, r.next_token_secret.as_deref()).await
}

/// The configured layout, and the default API root for a store without any.
async fn layout_and_default(store: &dyn Store, r: &Resolved) -> Result<(), String> {
    // A layout comes from a native file, which a conflict with the store is reported against.
    let file = r.files.first().map(|f| f.display().to_string());
    apply_layout(store, &r.layout)
        .await
        .map_err(|e| format!("{}: {e}", file.as_deref().unwrap_or("configuration")))?;
    if store.api_roots().await.map_err(store_err)?.is_empty() {
        seed_default(store, r.default_max_content_length).await?;
    }
    Ok(())
}

/// Upserts the configured API roots and collections, then the discovery resource.
pub async fn apply_layout(store: &dyn Store, layout: &Layout) -> Result<(), String> {
    for root in &layout.api_roots {
        store
            .put_api_root(ApiRootRecord {
                name: root.name.clone(),
                information: root.information.clone(),
            })
            .await
            .map_err(store_err)?;
        let stored = store.collections(&root.name).await.map_err(store_err)?;
        for c in &root.collections {
            let same_alias = c
                .alias
                .as_ref()
                .and_then(|a| stored.iter().find(|s| s.alias.as_ref() == Some(a)));
            let id = match (&c.id, same_alias) {
                (Some(id), Some(other)) if other.id != *id => {
                    return Err(format!(
                        "collection alias '{}' in API root '{}' is already used by collection {} in the store; give that id in the configuration or choose another alias",
                        other.alias.as_deref().unwrap_or_default(),
                        root.name,
                        other.id
                    ));
                }
                (Some(id), _) => id.clone(),
                (None, Some(existing)) => existing.id.clone(),
                (None, None) => uuid_v4(),
            };
            let extra = stored
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.extra.clone())
                .unwrap_or_default();
            let record = CollectionRecord {
                id,
                title: c.title.clone(),
                description: c.description.clone(),
                alias: c.alias.clone(),
                read: c.read.clone(),
                write: c.write.clone(),
                media_types: c.media_types.clone(),
                extra,
            };
            store
                .put_collection(&root.name, record)
                .await
                .map_err(store_err)?;
        }
    }
    if let Some(d) = &layout.discovery {
        let roots = store.api_roots().await.map_err(store_err)?;
        let doc = discovery_document(d, &roots);
        store.set_discovery(Some(doc)).await.map_err(store_err)?;
    }
    Ok(())
}

fn discovery_document(d: &DiscoverySection, roots: &[ApiRootRecord]) -> Map<String, Value> {
    let urls: Vec<String> = roots.iter().map(|r| format!("/{}/", r.name)).collect();
    let mut doc = Map::new();
    doc.insert(
        "title".into(),
        d.title
            .as_deref()
            .unwrap_or("taxiid TAXII 2.1 server")
            .into(),
    );
    for (k, v) in [("description", &d.description), ("contact", &d.contact)] {
        if let Some(v) = v {
            doc.insert(k.into(), v.clone().into());
        }
    }
    if let Some(default) = &d.default {
        let url = if default.starts_with('/') || default.contains("://") {
            default.clone()
        } else {
            format!("/{}/", default.trim_matches('/'))
        };
        if !urls.contains(&url) {
            tracing::warn!(default = %url, "discovery default is not one of the API roots");
        }
        doc.insert("default".into(), url.into());
    }
    if !urls.is_empty() {
        doc.insert(
            "api_roots".into(),
            urls.into_iter().map(Value::from).collect(),
        );
    }
    doc
}

/// The API root and collection a store without any starts with.
async fn seed_default(store: &dyn Store, max_content_length: u64) -> Result<(), String> {
    let mut info = Map::new();
    info.insert("title".into(), "Default API root".into());
    info.insert("versions".into(), json!([TAXII_21]));
    info.insert("max_content_length".into(), max_content_length.into());
    store
        .put_api_root(ApiRootRecord {
            name: "api1".into(),
            information: info,
        })
        .await
        .map_err(store_err)?;
    let collection = CollectionRecord {
        id: uuid_v4(),
        title: "Default collection".into(),
        description: Some("Created at first start; readable and writable by every user.".into()),
        alias: Some("default".into()),
        read: Grant::Everyone,
        write: Grant::Everyone,
        media_types: None,
        extra: Map::new(),
    };
    store
        .put_collection("api1", collection)
        .await
        .map_err(store_err)
}

/// A store without users gets one: `TAXIID_ADMIN_USER` (default `admin`) with
/// `TAXIID_ADMIN_PASSWORD`, or with a generated password printed once. Without the variables
/// and with users in the configuration, none is made.
async fn ensure_admin(
    store: &dyn Store,
    configured: &BTreeMap<String, String>,
    admin: &AdminAccount,
) -> Result<(), String> {
    let asked = admin.user.is_some() || admin.password.is_some();
    if !store.users().await.map_err(store_err)?.is_empty() {
        if asked {
            tracing::info!(
                "TAXIID_ADMIN_USER/TAXIID_ADMIN_PASSWORD are used on first start only; the store already has users"
            );
        }
        return Ok(());
    }
    if !asked && !configured.is_empty() {
        return Ok(());
    }
    let name = admin.user.clone().unwrap_or_else(|| "admin".into());
    let (password, generated) = match &admin.password {
        Some(p) => (p.clone(), false),
        None => (generated_password(), true),
    };
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || taxii_server::auth::hash_password(&to_hash))
        .await
        .map_err(|e| format!("cannot hash the admin password: {e}"))?
        .map_err(|e| format!("cannot hash the admin password: {e}"))?;
    let created = store
        .insert_user(UserRecord {
            name: name.clone(),
            password_hash: hash,
        })
        .await
        .map_err(store_err)?;
    if !created {
        // Another node sharing the store created it at the same moment; its password works.
        tracing::warn!(user = %name, "another node created the first-start account at the same moment");
        return Ok(());
    }
    if generated {
        let why = if configured.is_empty() {
            "no users are configured"
        } else {
            "TAXIID_ADMIN_USER is set"
        };
        eprintln!(
            "taxiid: {why}; log in as user '{name}' with password '{password}' (generated now, shown once)"
        );
    } else {
        tracing::info!(user = %name, "created the admin user from TAXIID_ADMIN_PASSWORD");
    }
    Ok(())
}

/// A grant naming a user that exists nowhere is probably a typo.
async fn warn_about_unknown_grantees(
    store: &dyn Store,
    configured: &BTreeMap<String, String>,
) -> Result<(), String> {
    let stored: Vec<String> = store
        .users()
        .await
        .map_err(store_err)?
        .into_iter()
        .map(|u| u.name)
        .collect();
    for root in store.api_roots().await.map_err(store_err)? {
        for c in store.collections(&root.name).await.map_err(store_err)? {
            for grant in [&c.read, &c.write] {
                if let Grant::Users(users) = grant {
                    for u in users {
                        if !configured.contains_key(u) && !stored.contains(u) {
                            tracing::warn!(
                                user = %u,
                                api_root = %root.name,
                                collection = %c.id,
                                "a collection grants access to a user that is neither configured nor in the store"
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The configured key, else the one kept in the store, else a new one, kept in the store so
/// that cursors survive restarts and every node sharing the store uses the same one.
async fn cursor_key(store: &dyn Store, configured: Option<&str>) -> Result<Vec<u8>, String> {
    if let Some(s) = configured {
        return Ok(s.as_bytes().to_vec());
    }
    if let Some(s) = store.meta(CURSOR_KEY_META).await.map_err(store_err)? {
        return Ok(s.into_bytes());
    }
    let mut bytes = [0u8; 32];
    random_bytes(&mut bytes);
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let kept = store
        .init_meta(CURSOR_KEY_META, &key)
        .await
        .map_err(store_err)?;
    Ok(kept.into_bytes())
}

pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    random_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn random_bytes(buf: &mut [u8]) {
    // The OS random source is always there on the platforms we build for; without it no
    // secret could be generated safely, so stopping is right.
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random source is unavailable");
}

fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 24];
    random_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
#[path = "provision_tests.rs"]
mod tests;
