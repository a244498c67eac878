//! `taxiid api-root add|list`.

use std::io::Write;

use serde_json::{Map, Value, json};
use taxii_model::media::TAXII_21;
use taxii_store::{ApiRootRecord, Store};

use super::{root_name, store_err, write_err, write_json, write_table};

pub(crate) const EXAMPLES: &str = "\
Examples:
  taxiid api-root add api2 --title 'Partner intelligence'
  taxiid api-root add org/a/api1 --title 'Team A' --max-content-length 104857600
  taxiid api-root list --json";

/// What an API root accepts in one request when not told otherwise (10 MiB).
const DEFAULT_MAX_CONTENT_LENGTH: u64 = 10 * 1024 * 1024;

#[derive(clap::Subcommand, Debug)]
pub enum ApiRootCommand {
    /// Create an API root, served at /PATH/.
    #[command(after_help = "\
Examples:
  taxiid api-root add api2 --title 'Partner intelligence' --description 'Shared with partners'
  taxiid api-root add org/a/api1 --title 'Team A' --max-content-length 104857600 --json")]
    Add {
        /// Its path below the host: segments of letters, digits, '-', '.', '_' and '~'.
        #[arg(value_name = "PATH")]
        path: String,

        /// A human-readable name.
        #[arg(long)]
        title: String,

        /// A longer human-readable description.
        #[arg(long)]
        description: Option<String>,

        /// The largest request body the API root accepts, in bytes.
        #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_CONTENT_LENGTH,
              value_parser = clap::value_parser!(u64).range(1..))]
        max_content_length: u64,

        /// Print the new API root as JSON.
        #[arg(long)]
        json: bool,
    },

    /// List the API roots with their collection counts.
    #[command(after_help = "\
Examples:
  taxiid api-root list
  taxiid api-root list --json")]
    List {
        /// Print a JSON list.
        #[arg(long)]
        json: bool,
    },
}

/// Whether `name` can be an API root path (as the memory store's loader decides).
fn valid_root_name(name: &str) -> bool {
    !name.is_empty()
        && name != "taxii2"
        && name.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c))
        })
}

pub(crate) async fn run(
    cmd: ApiRootCommand,
    store: &dyn Store,
    out: &mut dyn Write,
) -> Result<(), String> {
    match cmd {
        ApiRootCommand::Add {
            path,
            title,
            description,
            max_content_length,
            json,
        } => {
            let name = root_name(&path).to_owned();
            if !valid_root_name(&name) {
                return Err(format!(
                    "'{path}' is not a usable API root path: segments of letters, digits, '-', '.', '_' and '~', not 'taxii2'"
                ));
            }
            if title.trim().is_empty() {
                return Err("--title must not be empty".into());
            }
            let roots = store.api_roots().await.map_err(store_err)?;
            if roots.iter().any(|r| r.name == name) {
                return Err(format!("API root '{name}' already exists"));
            }
            let mut info = Map::new();
            info.insert("title".into(), title.trim().into());
            if let Some(d) = description {
                info.insert("description".into(), d.into());
            }
            info.insert("versions".into(), json!([TAXII_21]));
            info.insert("max_content_length".into(), max_content_length.into());
            store
                .put_api_root(ApiRootRecord {
                    name: name.clone(),
                    information: info.clone(),
                })
                .await
                .map_err(store_err)?;
            let listed = list_in_discovery(store, &roots, &name).await?;
            if json {
                return write_json(
                    out,
                    &json!({"path": name, "information": info, "discovery_entry": listed}),
                );
            }
            writeln!(out, "added API root /{name}/").map_err(write_err)?;
            if let Some(url) = listed {
                writeln!(out, "listed in the discovery resource as {url}").map_err(write_err)?;
            }
            Ok(())
        }
        ApiRootCommand::List { json } => list(json, store, out).await,
    }
}

/// A stored discovery resource lists its API roots explicitly: add the new one, in the form
/// the others have (`https://host/base/NAME/` or `/NAME/`). Without a stored resource the
/// server lists every API root by itself.
async fn list_in_discovery(
    store: &dyn Store,
    roots: &[ApiRootRecord],
    name: &str,
) -> Result<Option<String>, String> {
    let Some(mut discovery) = store.discovery().await.map_err(store_err)? else {
        return Ok(None);
    };
    let mut urls: Vec<Value> = match discovery.get("api_roots") {
        Some(Value::Array(a)) => a.clone(),
        None => Vec::new(),
        Some(_) => return Ok(None),
    };
    // The base the existing entries share: an entry that ends in a known root's path.
    let base = urls
        .iter()
        .filter_map(Value::as_str)
        .find_map(|u| {
            roots
                .iter()
                .filter_map(|r| u.strip_suffix(&format!("{}/", r.name)))
                .find(|b| b.ends_with('/'))
        })
        .unwrap_or("/")
        .to_owned();
    let url = format!("{base}{name}/");
    if !urls.iter().any(|u| u.as_str() == Some(&url)) {
        urls.push(url.clone().into());
        discovery.insert("api_roots".into(), Value::Array(urls));
        store
            .set_discovery(Some(discovery))
            .await
            .map_err(store_err)?;
    }
    Ok(Some(url))
}

async fn list(json: bool, store: &dyn Store, out: &mut dyn Write) -> Result<(), String> {
    let roots = store.api_roots().await.map_err(store_err)?;
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for r in &roots {
        let count = store.collections(&r.name).await.map_err(store_err)?.len();
        let info = &r.information;
        let text = |k: &str| {
            info.get(k)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_owned()
        };
        let max = info
            .get("max_content_length")
            .map_or_else(|| "-".to_owned(), Value::to_string);
        rows.push(vec![
            format!("/{}/", r.name),
            count.to_string(),
            max,
            text("title"),
        ]);
        items.push(json!({"path": r.name, "collections": count, "information": info}));
    }
    if json {
        return write_json(out, &Value::Array(items));
    }
    write_table(
        out,
        &["PATH", "COLLECTIONS", "MAX CONTENT LENGTH", "TITLE"],
        &rows,
        "no API roots",
    )
}
