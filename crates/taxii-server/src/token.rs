//! API tokens: `Authorization: Bearer taxiid_<id>_<secret>` (or `Token …`, the scheme medallion
//! 1.x clients send). The id is public (it names the token in `taxiid token list` and
//! `revoke`); the secret is 256 random bits of which the store keeps only a SHA-256 digest, so
//! a copy of the database does not hand out working tokens.

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use taxii_model::Timestamp;
use taxii_store::TokenRecord;

const PREFIX: &str = "taxiid_";
const ID_HEX: usize = 16;
const SECRET_BYTES: usize = 32;

/// A token as the client holds it and the record the store keeps of it.
#[derive(Debug)]
pub struct MintedToken {
    /// Shown once; never stored.
    pub token: String,
    pub record: TokenRecord,
}

/// A new token for `user`.
pub fn mint(
    user: &str,
    label: Option<String>,
    created: Timestamp,
    expires: Option<Timestamp>,
) -> Result<MintedToken, String> {
    let mut id = [0u8; ID_HEX / 2];
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut id).map_err(|e| format!("no random source: {e}"))?;
    getrandom::fill(&mut secret).map_err(|e| format!("no random source: {e}"))?;
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    Ok(MintedToken {
        token: format!("{PREFIX}{id}_{secret}"),
        record: TokenRecord {
            id,
            user: user.to_owned(),
            secret_sha256: secret_digest(&secret),
            label,
            created,
            expires,
        },
    })
}

fn secret_digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The id and secret of a token in taxiid's format; `None` for anything else.
pub(crate) fn parse(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    let id_ok = id.len() == ID_HEX && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (id_ok && !secret.is_empty() && secret.len() <= 64).then_some((id, secret))
}

/// Whether `secret` is the record's and the token has not expired at `now`.
pub(crate) fn accepts(record: &TokenRecord, secret: &str, now: Timestamp) -> bool {
    let digest_matches = bool::from(
        secret_digest(secret)
            .as_bytes()
            .ct_eq(record.secret_sha256.as_bytes()),
    );
    digest_matches && record.expires.is_none_or(|e| now < e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn minted_tokens_parse_and_their_secret_alone_is_accepted() {
        let now = at("2026-01-01T00:00:00Z");
        let minted = mint("alice", Some("ci".into()), now, None).unwrap();
        let (id, secret) = parse(&minted.token).unwrap();
        assert_eq!(id, minted.record.id);
        assert_eq!(minted.record.user, "alice");
        assert!(!minted.token.contains(&minted.record.secret_sha256));
        assert!(accepts(&minted.record, secret, now));
        assert!(!accepts(&minted.record, &format!("{secret}x"), now));
        assert!(!accepts(&minted.record, "", now));
        let other = mint("alice", None, now, None).unwrap();
        assert_ne!(other.record.id, minted.record.id);
        let (_, other_secret) = parse(&other.token).unwrap();
        assert!(!accepts(&minted.record, other_secret, now));
    }

    #[test]
    fn expired_tokens_are_refused_from_their_expiry_on() {
        let expires = at("2026-06-01T00:00:00Z");
        let minted = mint("bob", None, at("2026-01-01T00:00:00Z"), Some(expires)).unwrap();
        let (_, secret) = parse(&minted.token).unwrap();
        assert!(accepts(&minted.record, secret, at("2026-05-31T23:59:59Z")));
        assert!(!accepts(&minted.record, secret, expires));
        assert!(!accepts(&minted.record, secret, at("2027-01-01T00:00:00Z")));
    }

    #[test]
    fn other_strings_are_not_tokens() {
        for not_a_token in [
            "",
            "taxiid_",
            "taxiid_0123456789abcdef",
            "taxiid_0123456789abcdef_",
            "taxiid_0123456789ABCDEF_secret",
            "taxiid_0123456789abcde_secret",
            "other_0123456789abcdef_secret",
            "0123456789abcdef_secret",
        ] {
            assert_eq!(parse(not_a_token), None, "{not_a_token}");
        }
        let long = format!("taxiid_0123456789abcdef_{}", "a".repeat(65));
        assert_eq!(parse(&long), None);
        assert_eq!(
            parse("taxiid_0123456789abcdef_se_cr-et"),
            Some(("0123456789abcdef", "se_cr-et"))
        );
    }
}
