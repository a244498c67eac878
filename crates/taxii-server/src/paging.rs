//! Stateless `next` tokens.
//!
//! A token carries the position of the last record served (`date_added` and sequence) and a
//! truncated HMAC-SHA256 over that position and the *binding*: the endpoint, collection, object,
//! canonical filter and caller. Nothing is kept on the server, so a token works after a restart
//! and on any node that shares the key, for as long as the client needs it; a token used with
//! other filters, by another user, or altered in any way fails the MAC and gets 400.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use taxii_model::{Position, Timestamp};

use crate::error::ApiError;

const FORMAT: u8 = 1;
const TAG_LEN: usize = 16;
const BODY_LEN: usize = 1 + 8 + 8;

fn mac(key: &[u8], binding: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(binding.as_bytes());
    mac.update(&[0]);
    mac.update(body);
    mac
}

pub fn mint(key: &[u8], binding: &str, position: Position) -> String {
    let mut bytes = Vec::with_capacity(BODY_LEN + TAG_LEN);
    bytes.push(FORMAT);
    bytes.extend_from_slice(&position.date_added.nanos().to_be_bytes());
    bytes.extend_from_slice(&position.seq.to_be_bytes());
    let tag = mac(key, binding, &bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag[..TAG_LEN]);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn open(key: &[u8], binding: &str, token: &str) -> Result<Position, ApiError> {
    let invalid = || {
        ApiError::BadRequest(
            "the 'next' value is not valid for this request (it belongs to other filters, another user or endpoint, or was altered)"
                .into(),
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() != BODY_LEN + TAG_LEN || bytes[0] != FORMAT {
        return Err(invalid());
    }
    let (body, tag) = bytes.split_at(BODY_LEN);
    mac(key, binding, body)
        .verify_truncated_left(tag)
        .map_err(|_| invalid())?;
    let mut nanos = [0u8; 8];
    nanos.copy_from_slice(&body[1..9]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&body[9..17]);
    Ok(Position {
        date_added: Timestamp::from_nanos(i64::from_be_bytes(nanos)),
        seq: u64::from_be_bytes(seq),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn pos() -> Position {
        Position {
            date_added: Timestamp::from_micros(1_600_000_000_000_001),
            seq: 42,
        }
    }

    #[test]
    fn a_token_opens_with_the_same_key_and_binding() {
        let t = mint(KEY, "objects|c1|filter|alice", pos());
        assert_eq!(open(KEY, "objects|c1|filter|alice", &t).unwrap(), pos());
    }

    #[test]
    fn a_token_refuses_other_bindings_keys_and_tampering() {
        let t = mint(KEY, "b", pos());
        assert!(open(KEY, "other", &t).is_err());
        assert!(open(b"another key", "b", &t).is_err());
        assert!(open(KEY, "b", &t[..t.len() - 2]).is_err());
        assert!(open(KEY, "b", "not a token").is_err());
        assert!(open(KEY, "b", "").is_err());
        let mut bytes = URL_SAFE_NO_PAD.decode(&t).unwrap();
        bytes[10] ^= 1;
        assert!(open(KEY, "b", &URL_SAFE_NO_PAD.encode(bytes)).is_err());
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever a client sends as `next`, the answer is a position or a 400, never a panic.
        #[test]
        fn arbitrary_next_values_are_refused_without_panicking(token in ".{0,64}|[A-Za-z0-9_-]{43,44}") {
            prop_assert!(open(KEY, "b", &token).is_err());
        }

        #[test]
        fn every_position_round_trips_and_any_changed_byte_is_refused(
            nanos in any::<i64>(),
            seq in any::<u64>(),
            binding in ".{0,40}",
            flip in 0usize..(BODY_LEN + TAG_LEN),
            bit in 0u8..8,
        ) {
            let position = Position { date_added: Timestamp::from_nanos(nanos), seq };
            let token = mint(KEY, &binding, position);
            prop_assert_eq!(open(KEY, &binding, &token).unwrap(), position);
            let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
            bytes[flip] ^= 1 << bit;
            prop_assert!(open(KEY, &binding, &URL_SAFE_NO_PAD.encode(bytes)).is_err());
        }
    }
}
