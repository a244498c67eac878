//! HTTP Basic authentication against the configured users and the users kept in the store.
//!
//! A password is either a PHC argon2 hash (`$argon2id$…`: store users always, config users
//! optionally) or, for medallion configurations, plaintext. Plaintext is compared through
//! SHA-256 digests with a constant-time equality. Hashes are verified on the blocking pool
//! (argon2 costs milliseconds by design), and successful verifications are remembered for a
//! few minutes so that a client sending Basic credentials on every request does not pay that
//! cost each time.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::{HeaderMap, header};
use base64::Engine;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::ApiError;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
}

fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// Hashes a password for storage (argon2id, random salt, PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no random source: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether a configured password is a hash this server verifies (else it is plaintext).
pub fn is_password_hash(value: &str) -> bool {
    value.starts_with("$argon2")
}

/// Checks a password against a PHC hash. A hash that cannot be parsed verifies nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

const CACHE_TTL: Duration = Duration::from_secs(300);
const CACHE_MAX: usize = 10_000;

/// Recent successful hash verifications, keyed by a digest of user, password and hash (so a
/// changed password or hash never matches an old entry).
static VERIFIED: LazyLock<Mutex<HashMap<[u8; 32], Instant>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

async fn verify_cached(user: &str, password: &str, hash: &str) -> bool {
    let key = digest(&[user.as_bytes(), password.as_bytes(), hash.as_bytes()]);
    let now = Instant::now();
    if VERIFIED
        .lock()
        .get(&key)
        .is_some_and(|at| now.duration_since(*at) < CACHE_TTL)
    {
        return true;
    }
    let (password, hash) = (password.to_owned(), hash.to_owned());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    if ok {
        let mut cache = VERIFIED.lock();
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, at| now.duration_since(*at) < CACHE_TTL);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(key, now);
    }
    ok
}

/// The user name and password of a `Basic` `Authorization` header, if it has one.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn plaintext_matches(expected: &str, given: &str) -> bool {
    bool::from(digest(&[expected.as_bytes()]).ct_eq(&digest(&[given.as_bytes()])))
}

pub async fn authenticate(app: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let unauthorized = || ApiError::Unauthorized {
        realm: app.settings.realm.clone(),
    };
    let (user, password) = basic_credentials(headers).ok_or_else(unauthorized)?;
    // Configured users come first; the store holds the others (first-start admin, admin CLI).
    let secret = match app.settings.users.get(&user) {
        Some(s) => Some(s.clone()),
        None => app.store.user(&user).await?.map(|u| u.password_hash),
    };
    let ok = match &secret {
        Some(s) if is_password_hash(s) => verify_cached(&user, &password, s).await,
        Some(plain) => plaintext_matches(plain, &password),
        // Same comparison cost as a plaintext user, so timing tells nothing.
        None => {
            let _ = plaintext_matches("\0no such user\0", &password);
            false
        }
    };
    if ok {
        Ok(Principal { name: user })
    } else {
        Err(unauthorized())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Settings, SystemClock};
    use axum::http::HeaderValue;
    use taxii_store::memory::MemoryStore;
    use taxii_store::{Store, UserRecord};

    async fn app() -> AppState {
        let mut s = Settings::for_tests();
        s.users.insert("alice".into(), "s3cret:with:colons".into());
        s.users
            .insert("carol".into(), hash_password("carol's pass").unwrap());
        let store = MemoryStore::new();
        store
            .put_user(UserRecord {
                name: "dave".into(),
                password_hash: hash_password("dave's pass").unwrap(),
            })
            .await
            .unwrap();
        AppState::new(Arc::new(store), Arc::new(s), Arc::new(SystemClock))
    }

    fn header(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    fn basic(user: &str, pass: &str) -> HeaderMap {
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        header(&format!("Basic {enc}"))
    }

    #[tokio::test]
    async fn right_passwords_authenticate_plaintext_hashed_and_stored_users() {
        let app = app().await;
        let p = authenticate(&app, &basic("alice", "s3cret:with:colons"))
            .await
            .unwrap();
        assert_eq!(p.name, "alice");
        let enc = base64::engine::general_purpose::STANDARD.encode("alice:s3cret:with:colons");
        assert!(
            authenticate(&app, &header(&format!("basic  {enc}")))
                .await
                .is_ok()
        );
        assert!(
            authenticate(&app, &basic("carol", "carol's pass"))
                .await
                .is_ok()
        );
        // Twice: the second is answered from the cache, and must agree.
        assert!(
            authenticate(&app, &basic("dave", "dave's pass"))
                .await
                .is_ok()
        );
        assert!(
            authenticate(&app, &basic("dave", "dave's pass"))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn anything_else_is_unauthorized() {
        let app = app().await;
        for h in [
            HeaderMap::new(),
            basic("alice", "wrong"),
            basic("bob", "s3cret:with:colons"),
            basic("alice", ""),
            basic("carol", "wrong"),
            basic("dave", "wrong"),
            basic("dave", "carol's pass"),
            header("Basic !!!notbase64"),
            header("Bearer abc"),
            header("Basic"),
        ] {
            assert!(matches!(
                authenticate(&app, &h).await,
                Err(ApiError::Unauthorized { .. })
            ));
        }
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify_only_their_password() {
        let a = hash_password("pw").unwrap();
        let b = hash_password("pw").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify_password("pw", &a) && verify_password("pw", &b));
        assert!(!verify_password("pw2", &a));
        assert!(!verify_password("pw", "$argon2id$garbage"));
        assert!(is_password_hash(&a) && !is_password_hash("Password0"));
    }
}
