//! Authentication: HTTP Basic against the configured users and the users kept in the store,
//! API tokens (`token.rs`) kept in the store, and client certificates (`tls.rs`) whose
//! subject's common name is a user's name.
//!
//! A password is either a hash — PHC argon2 (`$argon2id$…`: store users always, config users
//! optionally), bcrypt (`$2b$…`) or werkzeug's (`pbkdf2:sha256:ITERATIONS$SALT$HEX` as medallion
//! 1.x configurations hold them, `scrypt:N:R:P$SALT$HEX` as werkzeug 2.3+ writes them) — or, for
//! medallion configurations, plaintext.
//! Plaintext is compared through SHA-256 digests with a constant-time equality. Hashes are
//! verified on the blocking pool (they cost milliseconds by design), and successful
//! verifications are remembered for a few minutes so that a client sending Basic credentials
//! on every request does not pay that cost each time.

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
use taxii_store::Grant;

use crate::AppState;
use crate::error::ApiError;
use crate::tls::ClientCert;
use crate::token;

/// The caller: an authenticated user, or an unauthenticated one where a collection's read
/// grant is public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user name; empty for an unauthenticated caller.
    pub name: String,
    pub anonymous: bool,
}

impl Principal {
    pub fn user(name: String) -> Self {
        Principal {
            name,
            anonymous: false,
        }
    }

    pub fn anonymous() -> Self {
        Principal {
            name: String::new(),
            anonymous: true,
        }
    }

    /// Whether the grant lets this caller in.
    pub fn may(&self, grant: &Grant) -> bool {
        grant.allows_caller((!self.anonymous).then_some(self.name.as_str()))
    }
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

/// Whether a configured password is a hash this server verifies (else it is plaintext). A string
/// with an argon2 or werkzeug prefix counts, parseable or not: a broken hash must verify
/// nothing, never be taken as the password itself. bcrypt is recognised by its whole shape
/// (`$2b$NN$` and 60 characters), as a medallion 3 plaintext password may well begin with `$2`.
pub fn is_password_hash(value: &str) -> bool {
    value.starts_with("$argon2")
        || value.starts_with("pbkdf2:")
        || value.starts_with("scrypt:")
        || looks_like_bcrypt(value)
}

fn looks_like_bcrypt(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 60
        && b.starts_with(b"$2")
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
}

/// Why a string in a hash's format cannot be verified against, if it cannot.
pub fn password_hash_problem(hash: &str) -> Option<String> {
    let ok = if hash.starts_with("$argon2") {
        PasswordHash::new(hash).is_ok_and(|h| h.salt.is_some() && h.hash.is_some())
    } else if looks_like_bcrypt(hash) {
        hash.parse::<bcrypt::HashParts>().is_ok()
    } else if hash.starts_with("pbkdf2:") || hash.starts_with("scrypt:") {
        Werkzeug::parse(hash).is_some()
    } else {
        return Some("is not a password hash".into());
    };
    (!ok).then(|| {
        "is not a valid argon2 (PHC), bcrypt or werkzeug (pbkdf2, scrypt) password hash".to_owned()
    })
}

/// Checks a password against a hash in one of the formats above. A hash that cannot be
/// parsed verifies nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    if hash.starts_with("$argon2") {
        PasswordHash::new(hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    } else if looks_like_bcrypt(hash) {
        bcrypt::verify(password, hash).unwrap_or(false)
    } else {
        Werkzeug::parse(hash).is_some_and(|w| w.verify(password))
    }
}

/// A werkzeug `generate_password_hash` hash: `METHOD$SALT$HEX`, where METHOD is
/// `pbkdf2:DIGEST:ITERATIONS` or `scrypt:N:R:P` (the salt is used as its text's bytes).
struct Werkzeug<'a> {
    kdf: Kdf,
    salt: &'a str,
    expected_hex: &'a str,
}

enum Kdf {
    Pbkdf2Sha256(u32),
    Pbkdf2Sha512(u32),
    /// werkzeug's scrypt derives 64 bytes.
    Scrypt(scrypt::Params),
}

impl<'a> Werkzeug<'a> {
    /// More iterations than any werkzeug default by far: a configured value above it is an
    /// error rather than minutes of CPU per login.
    const MAX_ITERATIONS: u32 = 10_000_000;
    /// scrypt's memory is 128·N·R bytes: at most 256 MiB per login (werkzeug's default,
    /// N=32768 and R=8, takes 32 MiB); its time grows with P as well (werkzeug's is 1).
    const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
    const MAX_SCRYPT_P: u32 = 16;

    fn parse(hash: &'a str) -> Option<Werkzeug<'a>> {
        let (method, salted) = hash.split_once('$')?;
        let (salt, expected_hex) = salted.split_once('$')?;
        let parts: Vec<&str> = method.split(':').collect();
        let (kdf, width) = match parts.as_slice() {
            ["pbkdf2", digest, iterations] => {
                let iterations: u32 = iterations.parse().ok()?;
                if !(1..=Self::MAX_ITERATIONS).contains(&iterations) {
                    return None;
                }
                match *digest {
                    "sha256" => (Kdf::Pbkdf2Sha256(iterations), 64),
                    "sha512" => (Kdf::Pbkdf2Sha512(iterations), 128),
                    _ => return None,
                }
            }
            ["scrypt", n, r, p] => {
                let (n, r, p): (u64, u32, u32) =
                    (n.parse().ok()?, r.parse().ok()?, p.parse().ok()?);
                let memory = n.checked_mul(128).and_then(|m| m.checked_mul(u64::from(r)));
                if n < 2
                    || !n.is_power_of_two()
                    || memory.is_none_or(|m| m > Self::MAX_SCRYPT_MEMORY)
                    || p > Self::MAX_SCRYPT_P
                {
                    return None;
                }
                let log_n = u8::try_from(n.trailing_zeros()).ok()?;
                (Kdf::Scrypt(scrypt::Params::new(log_n, r, p, 64).ok()?), 128)
            }
            _ => return None,
        };
        let hex =
            expected_hex.len() == width && expected_hex.bytes().all(|b| b.is_ascii_hexdigit());
        (hex && !salt.is_empty()).then_some(Werkzeug {
            kdf,
            salt,
            expected_hex,
        })
    }

    fn verify(&self, password: &str) -> bool {
        let (pw, salt) = (password.as_bytes(), self.salt.as_bytes());
        let derived = match &self.kdf {
            Kdf::Pbkdf2Sha512(iterations) => {
                let mut out = [0u8; 64];
                pbkdf2::pbkdf2_hmac::<sha2::Sha512>(pw, salt, *iterations, &mut out);
                out.to_vec()
            }
            Kdf::Pbkdf2Sha256(iterations) => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(pw, salt, *iterations, &mut out);
                out.to_vec()
            }
            Kdf::Scrypt(params) => {
                let mut out = [0u8; 64];
                if scrypt::scrypt(pw, salt, params, &mut out).is_err() {
                    return false;
                }
                out.to_vec()
            }
        };
        let hex: String = derived.iter().map(|b| format!("{b:02x}")).collect();
        bool::from(
            hex.as_bytes()
                .ct_eq(self.expected_hex.to_ascii_lowercase().as_bytes()),
        )
    }
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
/// What the `Authorization` header offers.
enum Credentials {
    Basic {
        user: String,
        password: String,
    },
    /// `Bearer …`, or `Token …` as medallion 1.x clients send it.
    Token(String),
}

fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        return Some(Credentials::Token(rest.to_owned()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some(Credentials::Basic {
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

fn plaintext_matches(expected: &str, given: &str) -> bool {
    bool::from(digest(&[expected.as_bytes()]).ct_eq(&digest(&[given.as_bytes()])))
}

/// The caller of a request with these headers over a connection that presented `cert` (a
/// verified client certificate). An `Authorization` header, when there is one, decides alone.
pub async fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    cert: Option<&ClientCert>,
) -> Result<Principal, ApiError> {
    let unauthorized = || ApiError::Unauthorized {
        realm: app.settings.realm.clone(),
    };
    let name = match (credentials(headers), cert) {
        (Some(Credentials::Basic { user, password }), _) => {
            password_login(app, user, &password).await?
        }
        (Some(Credentials::Token(token)), _) => token_login(app, &token).await?,
        (None, Some(cert)) if !headers.contains_key(header::AUTHORIZATION) => {
            certificate_login(app, cert).await?
        }
        (None, _) => None,
    };
    name.map(Principal::user).ok_or_else(unauthorized)
}

/// The user a client certificate's common name names, when that user exists.
async fn certificate_login(app: &AppState, cert: &ClientCert) -> Result<Option<String>, ApiError> {
    let Some(name) = &cert.common_name else {
        return Ok(None);
    };
    Ok(user_exists(app, name).await?.then(|| name.clone()))
}

/// Whether `name` is a configured user or one kept in the store.
async fn user_exists(app: &AppState, name: &str) -> Result<bool, ApiError> {
    Ok(app.settings.users.contains_key(name) || app.store.user(name).await?.is_some())
}

/// The user, when the password is theirs.
async fn password_login(
    app: &AppState,
    user: String,
    password: &str,
) -> Result<Option<String>, ApiError> {
    let secret = match app.settings.users.get(&user) {
        Some(s) => Some(s.clone()),
        None => app.store.user(&user).await?.map(|u| u.password_hash),
    };
    let ok = match &secret {
        Some(s) if is_password_hash(s) => verify_cached(&user, password, s).await,
        Some(plain) => plaintext_matches(plain, password),
        None => {
            let _ = plaintext_matches("\0no such user\0", password);
            false
        }
    };
    Ok(ok.then_some(user))
}

/// The user of a configured medallion 1.x API key. Every key is compared, in constant time,
/// so the answer's timing does not tell how much of a key was right.
fn api_key_user(app: &AppState, given: &str) -> Option<String> {
    let given = digest(&[given.as_bytes()]);
    let mut found = None;
    for (key, user) in &app.settings.api_keys {
        if bool::from(digest(&[key.as_bytes()]).ct_eq(&given)) {
            found = Some(user.clone());
        }
    }
    found
}

/// The token's user, when the token is known, unexpired and its user still exists (removing a
/// user from the configuration file ends their tokens too).
async fn token_login(app: &AppState, token: &str) -> Result<Option<String>, ApiError> {
    if let Some(user) = api_key_user(app, token) {
        return Ok(Some(user));
    }
    let Some((id, secret)) = token::parse(token) else {
        return Ok(None);
    };
    let Some(record) = app.store.token(id).await? else {
        return Ok(None);
    };
    if !token::accepts(&record, secret, app.clock.now()) {
        return Ok(None);
    }
    Ok(user_exists(app, &record.user).await?.then_some(record.user))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Settings, SystemClock};
    use axum::http::HeaderValue;
    use taxii_model::Timestamp;
    use taxii_store::memory::MemoryStore;
    use taxii_store::{Store, UserRecord};

    async fn app() -> AppState {
        let mut s = Settings::for_tests();
        s.users.insert("alice".into(), "s3cret:with:colons".into());
        s.users
            .insert("carol".into(), hash_password("carol's pass").unwrap());
        s.users.insert("erin".into(), WERKZEUG_SHA256.into());
        s.users.insert("frank".into(), BCRYPT_2B.into());
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

    // Made by werkzeug 3.1 (`generate_password_hash("medallion pass",
    // method="pbkdf2:sha256:1000", salt_length=12)`, and sha512 for "other") and by Python's
    // bcrypt (`hashpw(b"bcrypt pass", gensalt(rounds=4))`); the $2a$ one is OpenBSD's test vector.
    const WERKZEUG_SHA256: &str = "pbkdf2:sha256:1000$N7gjlx4cXbSE$0274a3730b5edf97e393c62c279b768dae5c9039483aee1042bd909501cdd025";
    const WERKZEUG_SHA512: &str = "pbkdf2:sha512:2000$bnc1geFH$8336ff4722546f5549711d3f8025387b82a7183106ddb0ec2f26cc407c05e3b11e798267039ba676335e32f0f1892680cb096bff7691eb9b87460937002e7674";
    // werkzeug 3.1's default (`generate_password_hash("scrypt pass")`) and a smaller N
    // (`method="scrypt:16384:8:1", salt_length=8` for "other").
    const WERKZEUG_SCRYPT: &str = "scrypt:32768:8:1$2eSX04QGnpQnVNWF$2933e9989af87ae16a3021e5b43400c881fc9233c03c7eaf73c05ff170c553671c5f669640668792788c78701e74117d45d11090227f0f32ec29e935fe28dc32";
    const WERKZEUG_SCRYPT_16K: &str = "scrypt:16384:8:1$7xHa4oyf$d4651aab2c6f71a44c93a7430091dd2d58bc9416714ba29b4a3b0268c0f442e3acb12ce43b29780f450212e9461ad07aa66a34a06addf9cf2054e543fffa4785";
    const BCRYPT_2B: &str = "$2b$04$iiAXiNNcsHgEKgXBlpq.fOxPG4EW6wEdumRcJpzJGJxYFdXeMyW9W";
    const BCRYPT_2A: &str = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

    #[test]
    fn werkzeug_and_bcrypt_hashes_verify_their_passwords_only() {
        for (hash, right) in [
            (WERKZEUG_SHA256, "medallion pass"),
            (WERKZEUG_SHA512, "other"),
            (WERKZEUG_SCRYPT, "scrypt pass"),
            (WERKZEUG_SCRYPT_16K, "other"),
            (BCRYPT_2B, "bcrypt pass"),
            (BCRYPT_2A, "U*U"),
        ] {
            assert!(is_password_hash(hash), "{hash}");
            assert_eq!(password_hash_problem(hash), None, "{hash}");
            assert!(verify_password(right, hash), "{hash}");
            assert!(!verify_password("wrong", hash), "{hash}");
            assert!(!verify_password(&format!("{right} "), hash), "{hash}");
        }
        // Upper-case hex is the same hash.
        assert!(verify_password(
            "medallion pass",
            &WERKZEUG_SHA256.replace("0274a3730b5edf97", "0274A3730B5EDF97")
        ));
    }

    #[test]
    fn broken_hashes_verify_nothing_and_are_never_taken_as_plaintext() {
        for broken in [
            "pbkdf2:sha256$N7gjlx4cXbSE$0274", // no iterations
            "pbkdf2:sha256:0$salt$0274a3730b5edf97e393c62c279b768dae5c9039483aee1042bd909501cdd025",
            "pbkdf2:sha256:1000$salt$zz74a3730b5edf97e393c62c279b768dae5c9039483aee1042bd909501cdd025",
            "pbkdf2:md5:1000$salt$0274a3730b5edf97e393c62c279b768d",
            "pbkdf2:sha256:99999999999$salt$0274a3730b5edf97e393c62c279b768dae5c9039483aee1042bd909501cdd025",
            "$argon2id$garbage",
        ] {
            assert!(is_password_hash(broken), "{broken}");
            assert!(password_hash_problem(broken).is_some(), "{broken}");
            assert!(!verify_password(broken, broken), "{broken}");
        }
        assert!(!is_password_hash("plain text"));
        // scrypt hashes that are cut short, not a power of two, or would take more than
        // 256 MiB or 16 rounds per login.
        let digest = WERKZEUG_SCRYPT.rsplit('$').next().unwrap();
        for broken in [
            "scrypt:32768:8:1$q8pW1qv8$3b2f0c1e".to_owned(),
            format!("scrypt:30000:8:1$salt${digest}"),
            format!("scrypt:1048576:8:1$salt${digest}"),
            format!("scrypt:1152921504606846976:8:1$salt${digest}"),
            format!("scrypt:32768:8$salt${digest}"),
            format!("scrypt:32768:8:0$salt${digest}"),
            format!("scrypt:32768:8:17$salt${digest}"),
        ] {
            assert!(is_password_hash(&broken), "{broken}");
            assert!(password_hash_problem(&broken).is_some(), "{broken}");
            assert!(!verify_password(&broken, &broken), "{broken}");
        }
        // A medallion 3 plaintext password that merely starts like a bcrypt hash stays one.
        assert!(!is_password_hash("$2024Password"));
        assert!(!is_password_hash("$2b$04$short"));
    }

    #[tokio::test]
    async fn configured_werkzeug_and_bcrypt_users_authenticate() {
        let app = app().await;
        let erin = authenticate(&app, &basic("erin", "medallion pass"), None).await;
        assert_eq!(erin.unwrap().name, "erin");
        let frank = authenticate(&app, &basic("frank", "bcrypt pass"), None).await;
        assert_eq!(frank.unwrap().name, "frank");
        for (user, pass) in [("erin", "bcrypt pass"), ("frank", "medallion pass")] {
            assert!(matches!(
                authenticate(&app, &basic(user, pass), None).await,
                Err(ApiError::Unauthorized { .. })
            ));
        }
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

    async fn stored_token(app: &AppState, user: &str, expires: Option<Timestamp>) -> String {
        let minted = token::mint(user, None, app.clock.now(), expires).unwrap();
        assert!(app.store.insert_token(minted.record).await.unwrap());
        minted.token
    }

    async fn who(app: &AppState, headers: &HeaderMap) -> Option<String> {
        match authenticate(app, headers, None).await {
            Ok(p) => Some(p.name),
            Err(ApiError::Unauthorized { .. }) => None,
            Err(e) => panic!("{e}"),
        }
    }

    #[tokio::test]
    async fn tokens_authenticate_as_their_user_until_revoked_or_expired() {
        let app = app().await;
        let dave = stored_token(&app, "dave", None).await;
        let alice = stored_token(&app, "alice", None).await;
        for scheme in ["Bearer", "bearer", "Token"] {
            let h = header(&format!("{scheme} {dave}"));
            assert_eq!(who(&app, &h).await.as_deref(), Some("dave"), "{scheme}");
        }
        let h = header(&format!("Bearer {alice}"));
        assert_eq!(who(&app, &h).await.as_deref(), Some("alice"));

        let (id, secret) = token::parse(&dave).unwrap();
        for wrong in [
            format!("Bearer taxiid_{id}_{secret}x"),
            format!("Bearer taxiid_{}_{secret}", "0".repeat(16)),
            format!("Basic {dave}"),
            "Bearer".into(),
            "Bearer not-a-token".into(),
        ] {
            assert_eq!(who(&app, &header(&wrong)).await, None, "{wrong}");
        }

        let past = Timestamp::from_nanos(app.clock.now().nanos() - 1);
        let expired = stored_token(&app, "dave", Some(past)).await;
        assert_eq!(who(&app, &header(&format!("Bearer {expired}"))).await, None);
        let future = Timestamp::from_nanos(app.clock.now().nanos() + 3_600_000_000_000);
        let later = stored_token(&app, "dave", Some(future)).await;
        let h = header(&format!("Bearer {later}"));
        assert_eq!(who(&app, &h).await.as_deref(), Some("dave"));

        assert!(app.store.remove_token(id).await.unwrap());
        assert_eq!(who(&app, &header(&format!("Bearer {dave}"))).await, None);
        assert!(app.store.remove_user("dave").await.unwrap());
        assert_eq!(who(&app, &header(&format!("Bearer {later}"))).await, None);
    }

    #[tokio::test]
    async fn a_token_of_a_user_who_no_longer_exists_is_refused() {
        let app = app().await;
        let ghost = stored_token(&app, "ghost", None).await;
        assert_eq!(who(&app, &header(&format!("Bearer {ghost}"))).await, None);
    }

    #[tokio::test]
    async fn right_passwords_authenticate_plaintext_hashed_and_stored_users() {
        let app = app().await;
        let p = authenticate(&app, &basic("alice", "s3cret:with:colons"), None)
            .await
            .unwrap();
        assert_eq!(p.name, "alice");
        let enc = base64::engine::general_purpose::STANDARD.encode("alice:s3cret:with:colons");
        assert!(
            authenticate(&app, &header(&format!("basic  {enc}")), None)
                .await
                .is_ok()
        );
        assert!(
            authenticate(&app, &basic("carol", "carol's pass"), None)
                .await
                .is_ok()
        );
        // Twice: the second is answered from the cache, and must agree.
        assert!(
            authenticate(&app, &basic("dave", "dave's pass"), None)
                .await
                .is_ok()
        );
        assert!(
            authenticate(&app, &basic("dave", "dave's pass"), None)
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
                authenticate(&app, &h, None).await,
                Err(ApiError::Unauthorized { .. })
            ));
        }
    }

    #[tokio::test]
    async fn a_client_certificate_names_its_user_unless_a_header_speaks() {
        let app = app().await;
        let cert = |cn: Option<&str>| ClientCert {
            subject: cn.map_or("O=Partner".into(), |cn| format!("CN={cn}, O=Partner")),
            common_name: cn.map(str::to_owned),
        };
        let as_user = |headers: HeaderMap, c: ClientCert| {
            let app = app.clone();
            async move {
                match authenticate(&app, &headers, Some(&c)).await {
                    Ok(p) => Some(p.name),
                    Err(ApiError::Unauthorized { .. }) => None,
                    Err(e) => panic!("{e}"),
                }
            }
        };
        // A configured user and a store user; unknown names and certificates without a CN
        // are nobody.
        assert_eq!(
            as_user(HeaderMap::new(), cert(Some("alice")))
                .await
                .as_deref(),
            Some("alice")
        );
        assert_eq!(
            as_user(HeaderMap::new(), cert(Some("dave")))
                .await
                .as_deref(),
            Some("dave")
        );
        assert_eq!(as_user(HeaderMap::new(), cert(Some("mallory"))).await, None);
        assert_eq!(as_user(HeaderMap::new(), cert(None)).await, None);
        // An Authorization header decides alone: right for its own user, wrong for nobody,
        // even beside a good certificate.
        assert_eq!(
            as_user(basic("carol", "carol's pass"), cert(Some("alice")))
                .await
                .as_deref(),
            Some("carol")
        );
        assert_eq!(
            as_user(basic("carol", "wrong"), cert(Some("alice"))).await,
            None
        );
        assert_eq!(
            as_user(header("Unknown scheme"), cert(Some("alice"))).await,
            None
        );
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
