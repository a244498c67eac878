//! `taxiid collection add|list|remove`.

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::{Map, Value, json};
use taxii_model::SpecVersion;
use taxii_model::object::{SUPPORTED_SPEC_VERSIONS, is_uuid};
use taxii_store::{CollectionRecord, Grant, Store};

use super::{
    check_user_name, require_collection, require_root, root_name, store_err, uuid_v4, write_err,
    write_json, write_table,
};

pub(crate) const EXAMPLES: &str = "\
Examples:
  taxiid collection add --api-root api1 --title Indicators --alias indicators
  taxiid collection add --api-root api1 --title 'Partner feed' --read everyone --write alice,bob
  taxiid collection list
  taxiid collection list --api-root api1 --json
  taxiid collection remove --api-root api1 indicators";

#[derive(clap::Subcommand, Debug)]
pub enum CollectionCommand {
    /// Create a collection in an API root.
    #[command(after_help = "\
Examples:
  taxiid collection add --api-root api1 --title Indicators --alias indicators
  taxiid collection add --api-root api1 --title 'Partner feed' --read everyone --write alice,bob \\
      --id 91a7b528-80eb-42ed-a74d-c6fbd5a26116 --media-type 'application/stix+json;version=2.1'")]
    Add(AddArgs),

    /// List the collections of every API root, or of one.
    #[command(after_help = "\
Examples:
  taxiid collection list
  taxiid collection list --api-root api1 --json")]
    List {
        /// Only this API root.
        #[arg(long, value_name = "PATH")]
        api_root: Option<String>,

        /// Print a JSON list.
        #[arg(long)]
        json: bool,
    },

    /// Remove a collection and every object in it.
    #[command(after_help = "\
Examples:
  taxiid collection remove --api-root api1 indicators
  taxiid collection remove --api-root api1 91a7b528-80eb-42ed-a74d-c6fbd5a26116 --json")]
    Remove {
        /// The API root of the collection.
        #[arg(long, value_name = "PATH")]
        api_root: String,

        /// The collection's id or alias.
        #[arg(value_name = "ID")]
        id: String,

        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The API root that gets the collection.
    #[arg(long, value_name = "PATH")]
    pub api_root: String,

    /// A human-readable name.
    #[arg(long)]
    pub title: String,

    /// The collection's id (a UUID). Default: a random one.
    #[arg(long, value_name = "UUID")]
    pub id: Option<String>,

    /// A second name for the collection in URLs, unique in its API root.
    #[arg(long)]
    pub alias: Option<String>,

    /// A longer human-readable description.
    #[arg(long)]
    pub description: Option<String>,

    /// Who may read: everyone (every authenticated user), nobody, public (unauthenticated
    /// callers too), or user names separated by commas.
    #[arg(long, value_name = "WHO", default_value = "everyone", value_parser = parse_grant)]
    pub read: Grant,

    /// Who may add objects: everyone, nobody, or user names separated by commas.
    #[arg(long, value_name = "WHO", default_value = "everyone", value_parser = parse_grant)]
    pub write: Grant,

    /// A STIX media type the collection holds (repeat the flag, or separate with commas).
    /// Default: every version the server supports.
    #[arg(long = "media-type", value_name = "TYPE", value_delimiter = ',')]
    pub media_types: Vec<String>,

    /// Print the new collection as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `everyone`, `nobody`, `public` (read only: unauthenticated callers too), or `alice,bob`.
pub(crate) fn parse_grant(s: &str) -> Result<Grant, String> {
    match s.trim() {
        "everyone" => Ok(Grant::Everyone),
        "nobody" => Ok(Grant::Nobody),
        "public" => Ok(Grant::Public),
        list => {
            let users: BTreeSet<String> = list
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect();
            if users.is_empty() {
                return Err("expected everyone, nobody or user names separated by commas".into());
            }
            for u in &users {
                check_user_name(u)?;
            }
            Ok(Grant::Users(users))
        }
    }
}

fn grant_text(g: &Grant) -> String {
    match g {
        Grant::Everyone => "everyone".into(),
        Grant::Nobody => "nobody".into(),
        Grant::Users(u) => u.iter().cloned().collect::<Vec<_>>().join(","),
        Grant::Public => "public".into(),
    }
}

/// A collection as `--json` prints it.
pub(crate) fn collection_json(root: &str, c: &CollectionRecord) -> Value {
    json!({
        "api_root": root,
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "alias": c.alias,
        "read": c.read.to_json(),
        "write": c.write.to_json(),
        "media_types": c.media_types,
    })
}

pub(crate) async fn run(
    cmd: CollectionCommand,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    match cmd {
        CollectionCommand::Add(args) => add(args, store, out).await,
        CollectionCommand::List { api_root, json } => {
            list(api_root.as_deref(), json, store, out).await
        }
        CollectionCommand::Remove { api_root, id, json } => {
            remove(&api_root, &id, json, store, out).await
        }
    }
}

async fn add(args: AddArgs, store: &dyn Store, out: &mut dyn Write) -> Result<(), String> {
    let root = require_root(store, &args.api_root).await?.name;
    let title = args.title.trim();
    if title.is_empty() {
        return Err("--title must not be empty".into());
    }
    let id = match args.id {
        Some(id) if is_uuid(&id) => id.to_ascii_lowercase(),
        Some(id) => {
            return Err(format!(
                "--id '{id}' is not a UUID (like 91a7b528-80eb-42ed-a74d-c6fbd5a26116)"
            ));
        }
        None => uuid_v4()?,
    };
    let existing = store.collections(&root).await.map_err(store_err)?;
    if let Some(c) = existing
        .iter()
        .find(|c| c.id == id || c.alias.as_deref() == Some(&id))
    {
        return Err(format!(
            "API root '{root}' already has collection {} with id or alias '{id}'",
            c.id
        ));
    }
    if let Some(alias) = &args.alias {
        if alias.is_empty() || alias.contains('/') || alias.chars().any(char::is_whitespace) {
            return Err(format!(
                "--alias '{alias}' is not usable in a URL: no '/', spaces or empty alias"
            ));
        }
        if let Some(c) = existing
            .iter()
            .find(|c| c.id == *alias || c.alias.as_deref() == Some(alias))
        {
            return Err(format!(
                "API root '{root}' already has collection {} with id or alias '{alias}'",
                c.id
            ));
        }
    }
    let media_types = if args.media_types.is_empty() {
        None
    } else {
        let mut list: Vec<String> = Vec::new();
        for m in &args.media_types {
            let m = m.trim().replace(' ', "");
            let ok = m.starts_with("application/stix+json")
                && SpecVersion::from_media_type(&m)
                    .is_some_and(|v| SUPPORTED_SPEC_VERSIONS.contains(&v));
            if !ok {
                return Err(format!(
                    "--media-type '{m}' is not a supported STIX media type (like application/stix+json;version=2.1)"
                ));
            }
            if !list.contains(&m) {
                list.push(m);
            }
        }
        Some(list)
    };
    if args.write == Grant::Public {
        return Err(
            "--write public is not possible: adding objects always needs credentials".into(),
        );
    }
    let record = CollectionRecord {
        id,
        title: title.to_owned(),
        description: args.description,
        alias: args.alias,
        read: args.read,
        write: args.write,
        media_types,
        extra: Map::new(),
    };
    store
        .put_collection(&root, record.clone())
        .await
        .map_err(store_err)?;
    if args.json {
        return write_json(out, &collection_json(&root, &record));
    }
    writeln!(
        out,
        "added collection {}{} to API root {root} (read: {}, write: {})",
        record.id,
        record
            .alias
            .as_ref()
            .map(|a| format!(" (alias {a})"))
            .unwrap_or_default(),
        grant_text(&record.read),
        grant_text(&record.write),
    )
    .map_err(write_err)
}

async fn list(
    api_root: Option<&str>,
    json: bool,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    let roots = match api_root {
        Some(r) => vec![require_root(store, r).await?.name],
        None => store
            .api_roots()
            .await
            .map_err(store_err)?
            .into_iter()
            .map(|r| r.name)
            .collect(),
    };
    let mut all = Vec::new();
    for root in roots {
        for c in store.collections(&root).await.map_err(store_err)? {
            all.push((root.clone(), c));
        }
    }
    if json {
        let list: Vec<Value> = all.iter().map(|(r, c)| collection_json(r, c)).collect();
        return write_json(out, &Value::Array(list));
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|(r, c)| {
            vec![
                r.clone(),
                c.id.clone(),
                c.alias.clone().unwrap_or_else(|| "-".into()),
                grant_text(&c.read),
                grant_text(&c.write),
                c.title.clone(),
            ]
        })
        .collect();
    write_table(
        out,
        &["API ROOT", "ID", "ALIAS", "READ", "WRITE", "TITLE"],
        &rows,
        "no collections",
    )
}

async fn remove(
    api_root: &str,
    id: &str,
    json: bool,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    let root = root_name(api_root);
    require_root(store, root).await?;
    let c = require_collection(store, root, id).await?;
    if !store
        .remove_collection(root, &c.id)
        .await
        .map_err(store_err)?
    {
        return Err(format!("API root '{root}' has no collection '{id}'"));
    }
    if json {
        let mut v = collection_json(root, &c);
        if let Value::Object(m) = &mut v {
            m.insert("removed".into(), true.into());
        }
        return write_json(out, &v);
    }
    writeln!(
        out,
        "removed collection {} ({}) from API root {root}, with its objects",
        c.id, c.title
    )
    .map_err(write_err)
}
