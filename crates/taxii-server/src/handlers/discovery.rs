//! `GET /taxii2/`: the stored discovery resource (as a medallion data file holds it), or one
//! generated from the API roots.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};
use taxii_store::ApiRootRecord;

use super::json;
use crate::dispatch::Ctx;
use crate::error::ApiError;

pub(crate) async fn get(ctx: &Ctx<'_>, roots: &[ApiRootRecord]) -> Result<Response, ApiError> {
    let doc = match ctx.app.store.discovery().await? {
        Some(stored) => stored,
        None => {
            let mut d = Map::new();
            d.insert(
                "title".into(),
                ctx.app.settings.discovery_title.clone().into(),
            );
            let urls: Vec<Value> = roots
                .iter()
                .map(|r| format!("/{}/", r.name).into())
                .collect();
            if let [only] = urls.as_slice() {
                d.insert("default".into(), only.clone());
            }
            // An empty list is omitted, never sent as [].
            if !urls.is_empty() {
                d.insert("api_roots".into(), Value::Array(urls));
            }
            d
        }
    };
    Ok(json(StatusCode::OK, Value::Object(doc).to_string()))
}
