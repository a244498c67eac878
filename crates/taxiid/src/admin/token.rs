//! `taxiid token create|list|revoke`: API tokens kept in the store. A token is printed once,
//! when it is created; the store keeps only a digest of its secret.

use std::io::Write;

use serde_json::{Value, json};
use taxii_model::Timestamp;
use taxii_store::{Store, TokenRecord};

use super::{check_user_name, now, store_err, write_err, write_json, write_table};

pub(crate) const EXAMPLES: &str = "\
Examples:
  taxiid token create alice --label 'SIEM pull' --expires-in 90d
  taxiid token list
  taxiid token revoke 3f9c0a7be21d4c58

A client sends the token as `Authorization: Bearer <token>` (or `Token <token>`). A token acts
as its user, with the user's permissions, and stops working when it expires, when it is
revoked, or when its user is removed (from the store or from the configuration file).";

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token for a user and print it (once).
    #[command(after_help = "\
Examples:
  taxiid token create alice
  taxiid token create alice --label 'nightly export' --expires-in 30d --json
  taxiid token create bob --expires 2027-01-01T00:00:00Z")]
    Create {
        /// The user the token acts as: a user of the store or of the configuration file.
        #[arg(value_name = "USER")]
        user: String,

        /// What the token is for (shown by `token list`).
        #[arg(long)]
        label: Option<String>,

        /// Lifetime from now: a number with s, m, h or d (e.g. 12h, 90d).
        #[arg(long, value_name = "DURATION", conflicts_with = "expires")]
        expires_in: Option<String>,

        /// Expiry instant (RFC 3339, e.g. 2027-01-01T00:00:00Z).
        #[arg(long, value_name = "INSTANT")]
        expires: Option<String>,

        /// Print the result as JSON (with the token).
        #[arg(long)]
        json: bool,
    },

    /// List the tokens (never their secrets).
    #[command(after_help = "\
Examples:
  taxiid token list
  taxiid token list --json | jq -r '.[] | select(.expired) | .id'")]
    List {
        /// Print a JSON list.
        #[arg(long)]
        json: bool,
    },

    /// Revoke a token by its id (the first column of `token list`).
    #[command(after_help = "\
Examples:
  taxiid token revoke 3f9c0a7be21d4c58")]
    Revoke {
        #[arg(value_name = "ID")]
        id: String,

        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `90d`, `12h`, `30m`, `45s` as nanoseconds.
fn duration_nanos(text: &str) -> Result<i64, String> {
    let bad = || format!("--expires-in '{text}' is not a duration like 90d, 12h, 30m or 45s");
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let unit_secs: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if n <= 0 {
        return Err(format!("--expires-in '{text}' must be more than zero"));
    }
    n.checked_mul(unit_secs)
        .and_then(|s| s.checked_mul(1_000_000_000))
        .ok_or_else(|| format!("--expires-in '{text}' is too long"))
}

fn expiry(
    created: Timestamp,
    expires_in: Option<&str>,
    expires: Option<&str>,
) -> Result<Option<Timestamp>, String> {
    let at = match (expires_in, expires) {
        (Some(d), _) => {
            let nanos = created
                .nanos()
                .checked_add(duration_nanos(d)?)
                .ok_or_else(|| format!("--expires-in '{d}' is too long"))?;
            Timestamp::from_nanos(nanos)
        }
        (None, Some(text)) => Timestamp::parse(text)
            .map_err(|e| format!("--expires '{text}' is not an RFC 3339 instant: {e}"))?,
        (None, None) => return Ok(None),
    };
    if at <= created {
        return Err(format!(
            "the expiry {} is not in the future",
            at.to_taxii_string()
        ));
    }
    Ok(Some(at))
}

fn describe(t: &TokenRecord, now: Timestamp) -> Value {
    json!({
        "id": t.id,
        "user": t.user,
        "label": t.label,
        "created": t.created.to_taxii_string(),
        "expires": t.expires.map(Timestamp::to_taxii_string),
        "expired": t.expires.is_some_and(|e| e <= now),
    })
}

pub(crate) async fn run(
    cmd: TokenCommand,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    match cmd {
        TokenCommand::Create {
            user,
            label,
            expires_in,
            expires,
            json,
        } => {
            check_user_name(&user)?;
            let created = now();
            let expires = expiry(created, expires_in.as_deref(), expires.as_deref())?;
            let label = label.filter(|l| !l.trim().is_empty());
            let minted = taxii_server::token::mint(&user, label, created, expires)?;
            if !store
                .insert_token(minted.record.clone())
                .await
                .map_err(store_err)?
            {
                return Err(
                    "a token with the same id exists already; run the command again".into(),
                );
            }
            let in_store = store.user(&user).await.map_err(store_err)?.is_some();
            if json {
                let mut v = describe(&minted.record, created);
                if let Value::Object(m) = &mut v {
                    m.insert("token".into(), minted.token.into());
                    m.insert("user_in_store".into(), in_store.into());
                }
                return write_json(out, &v);
            }
            writeln!(out, "created token {} for user {user}", minted.record.id)
                .map_err(write_err)?;
            if let Some(e) = expires {
                writeln!(out, "expires: {}", e.to_taxii_string()).map_err(write_err)?;
            }
            writeln!(out, "token: {}", minted.token).map_err(write_err)?;
            writeln!(out, "(shown only once: keep it)").map_err(write_err)?;
            if !in_store {
                writeln!(
                    out,
                    "note: the store keeps no user '{user}'; the token works only while the configuration file names that user"
                )
                .map_err(write_err)?;
            }
            Ok(())
        }
        TokenCommand::List { json } => {
            let tokens = store.tokens().await.map_err(store_err)?;
            let now = now();
            if json {
                let list: Vec<Value> = tokens.iter().map(|t| describe(t, now)).collect();
                return write_json(out, &Value::Array(list));
            }
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|t| {
                    let expires = match t.expires {
                        None => "never".to_owned(),
                        Some(e) if e <= now => format!("{} (expired)", e.to_taxii_string()),
                        Some(e) => e.to_taxii_string(),
                    };
                    vec![
                        t.id.clone(),
                        t.user.clone(),
                        t.created.to_taxii_string(),
                        expires,
                        t.label.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            write_table(
                out,
                &["ID", "USER", "CREATED", "EXPIRES", "LABEL"],
                &rows,
                "no tokens in the store",
            )
        }
        TokenCommand::Revoke { id, json } => {
            if !store.remove_token(&id).await.map_err(store_err)? {
                return Err(format!(
                    "there is no token '{id}' (`taxiid token list` shows them)"
                ));
            }
            if json {
                return write_json(out, &json!({"id": id, "revoked": true}));
            }
            writeln!(out, "revoked token {id}").map_err(write_err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_instants_give_expiries_in_the_future_only() {
        let created = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let at = |s: &str| Some(Timestamp::parse(s).unwrap());
        assert_eq!(expiry(created, None, None), Ok(None));
        assert_eq!(
            expiry(created, Some("90d"), None),
            Ok(at("2026-04-01T00:00:00Z"))
        );
        assert_eq!(
            expiry(created, Some("12h"), None),
            Ok(at("2026-01-01T12:00:00Z"))
        );
        assert_eq!(
            expiry(created, Some("30m"), None),
            Ok(at("2026-01-01T00:30:00Z"))
        );
        assert_eq!(
            expiry(created, None, Some("2027-01-01T00:00:00Z")),
            Ok(at("2027-01-01T00:00:00Z"))
        );
        for bad in ["", "d", "0d", "-1d", "10", "10w", "1.5h", "99999999999999d"] {
            assert!(expiry(created, Some(bad), None).is_err(), "{bad}");
        }
        assert!(expiry(created, None, Some("yesterday")).is_err());
        assert!(expiry(created, None, Some("2025-12-31T23:59:59Z")).is_err());
    }
}
