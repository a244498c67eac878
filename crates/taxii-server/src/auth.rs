//! HTTP Basic authentication against the configured users.
//!
//! Passwords are compared through their SHA-256 digests with a constant-time equality, and an
//! unknown user costs the same comparison as a known one, so timing tells nothing about which
//! users exist. (Hashed password storage comes with the security work; medallion configs hold
//! plaintext.)

use axum::http::{HeaderMap, header};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::settings::Settings;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
}

fn digest(s: &[u8]) -> [u8; 32] {
    Sha256::digest(s).into()
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

pub fn authenticate(settings: &Settings, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let unauthorized = || ApiError::Unauthorized {
        realm: settings.realm.clone(),
    };
    let (user, password) = basic_credentials(headers).ok_or_else(unauthorized)?;
    let given = digest(password.as_bytes());
    let (expected, known) = match settings.users.get(&user) {
        Some(p) => (digest(p.as_bytes()), true),
        None => (digest(b"\0no such user\0"), false),
    };
    if bool::from(given.ct_eq(&expected)) && known {
        Ok(Principal { name: user })
    } else {
        Err(unauthorized())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn settings() -> Settings {
        let mut s = Settings::for_tests();
        s.users.insert("alice".into(), "s3cret:with:colons".into());
        s
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

    #[test]
    fn right_password_authenticates() {
        let p = authenticate(&settings(), &basic("alice", "s3cret:with:colons")).unwrap();
        assert_eq!(p.name, "alice");
        let enc = base64::engine::general_purpose::STANDARD.encode("alice:s3cret:with:colons");
        assert!(authenticate(&settings(), &header(&format!("basic  {enc}"))).is_ok());
    }

    #[test]
    fn anything_else_is_unauthorized() {
        let s = settings();
        for h in [
            HeaderMap::new(),
            basic("alice", "wrong"),
            basic("bob", "s3cret:with:colons"),
            basic("alice", ""),
            header("Basic !!!notbase64"),
            header("Bearer abc"),
            header("Basic"),
        ] {
            assert!(matches!(
                authenticate(&s, &h),
                Err(ApiError::Unauthorized { .. })
            ));
        }
    }
}
