//! `taxiid user add|list|remove|passwd`: the accounts kept in the store. Passwords are stored
//! only as argon2id hashes; no command prints a hash.

use std::io::{BufRead, Write};

use serde_json::{Value, json};
use taxii_store::{Store, UserRecord};

use super::{check_user_name, generate_password, store_err, write_err, write_json, write_table};

pub(crate) const EXAMPLES: &str = "\
Examples:
  taxiid user add alice                      # generates a password and prints it once
  printf '%s\\n' \"$PASSWORD\" | taxiid user add bob --password-stdin
  taxiid user list --json
  taxiid user passwd alice --password-stdin < password.txt
  taxiid user remove bob

Users named in the configuration file are not kept in the store and are not listed here;
when a name is in both, the configuration file's password is the one that counts.";

#[derive(clap::Args, Debug)]
pub struct PasswordArgs {
    /// The password. Other local users can see it in the process list: prefer
    /// --password-stdin. Without either, a password is generated and printed once.
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,

    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user.
    #[command(after_help = "\
Examples:
  taxiid user add alice
  printf '%s\\n' \"$PASSWORD\" | taxiid user add alice --password-stdin --json")]
    Add {
        /// The user name (no ':').
        #[arg(value_name = "NAME")]
        name: String,

        #[command(flatten)]
        password: PasswordArgs,

        /// Print the result as JSON (with the password when it was generated).
        #[arg(long)]
        json: bool,
    },

    /// List the users kept in the store (never their password hashes).
    #[command(after_help = "\
Examples:
  taxiid user list
  taxiid user list --json | jq -r '.[].name'")]
    List {
        /// Print a JSON list.
        #[arg(long)]
        json: bool,
    },

    /// Remove a user.
    #[command(after_help = "\
Examples:
  taxiid user remove alice")]
    Remove {
        /// The user name (no ':').
        #[arg(value_name = "NAME")]
        name: String,

        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },

    /// Set a user's password.
    #[command(after_help = "\
Examples:
  taxiid user passwd alice                   # generates a password and prints it once
  taxiid user passwd alice --password-stdin < password.txt")]
    Passwd {
        /// The user name (no ':').
        #[arg(value_name = "NAME")]
        name: String,

        #[command(flatten)]
        password: PasswordArgs,

        /// Print the result as JSON (with the password when it was generated).
        #[arg(long)]
        json: bool,
    },
}

/// The first line of `input`, without its line end.
pub(crate) fn read_password_line(input: &mut dyn BufRead) -> Result<String, String> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err("no password on standard input (one line expected)".into());
    }
    Ok(password.to_owned())
}

/// The password to set and whether it was generated.
fn choose_password(args: PasswordArgs) -> Result<(String, bool), String> {
    match (args.password, args.password_stdin) {
        (Some(p), _) if p.is_empty() => Err("--password must not be empty".into()),
        (Some(p), _) => Ok((p, false)),
        (None, true) => read_password_line(&mut std::io::stdin().lock()).map(|p| (p, false)),
        (None, false) => generate_password().map(|p| (p, true)),
    }
}

async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || taxii_server::auth::hash_password(&password))
        .await
        .map_err(|e| format!("password hashing failed: {e}"))?
        .map_err(|e| format!("password hashing failed: {e}"))
}

fn scheme(hash: &str) -> String {
    hash.strip_prefix('$')
        .and_then(|h| h.split('$').next())
        .unwrap_or("unknown")
        .to_owned()
}

pub(crate) async fn run(
    cmd: UserCommand,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    match cmd {
        UserCommand::Add {
            name,
            password,
            json,
        } => set_password(&name, password, json, true, store, out).await,
        UserCommand::Passwd {
            name,
            password,
            json,
        } => set_password(&name, password, json, false, store, out).await,
        UserCommand::List { json } => {
            let users = store.users().await.map_err(store_err)?;
            if json {
                let list: Vec<Value> = users
                    .iter()
                    .map(|u| json!({"name": u.name, "password_scheme": scheme(&u.password_hash)}))
                    .collect();
                return write_json(out, &Value::Array(list));
            }
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| vec![u.name.clone(), scheme(&u.password_hash)])
                .collect();
            write_table(out, &["NAME", "PASSWORD"], &rows, "no users in the store")
        }
        UserCommand::Remove { name, json } => {
            if !store.remove_user(&name).await.map_err(store_err)? {
                return Err(format!("there is no user '{name}' in the store"));
            }
            if json {
                return write_json(out, &json!({"name": name, "removed": true}));
            }
            writeln!(out, "removed user {name}").map_err(write_err)
        }
    }
}

/// `user add` (`create`: the user must be new) and `user passwd` (it must exist).
async fn set_password(
    name: &str,
    password: PasswordArgs,
    json: bool,
    create: bool,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    check_user_name(name)?;
    let exists = store.user(name).await.map_err(store_err)?.is_some();
    match (create, exists) {
        (true, true) => {
            return Err(format!(
                "user '{name}' already exists (`user passwd {name}` changes its password)"
            ));
        }
        (false, false) => return Err(format!("there is no user '{name}' in the store")),
        _ => {}
    }
    let (password, generated) = choose_password(password)?;
    let password_hash = hash(password.clone()).await?;
    store
        .put_user(UserRecord {
            name: name.to_owned(),
            password_hash,
        })
        .await
        .map_err(store_err)?;
    if json {
        let mut v = json!({"name": name, "generated": generated});
        if generated && let Value::Object(m) = &mut v {
            m.insert("password".into(), password.into());
        }
        return write_json(out, &v);
    }
    let done = if create {
        format!("added user {name}")
    } else {
        format!("changed the password of user {name}")
    };
    writeln!(out, "{done}").map_err(write_err)?;
    if generated {
        writeln!(out, "password: {password}").map_err(write_err)?;
        writeln!(out, "(generated now and shown only once: keep it)").map_err(write_err)?;
    }
    Ok(())
}
