//! `GET /taxii2/`: the stored discovery resource (as a medallion data file holds it), or one
//! generated from the API roots.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::json;
use crate::dispatch::Ctx;
use crate::layout::Layout;

pub(crate) fn get(ctx: &Ctx<'_>, layout: &Layout) -> Response {
    let doc = match &layout.discovery {
        Some(stored) => stored.clone(),
        None => {
            let mut d = Map::new();
            d.insert(
                "title".into(),
                ctx.app.settings.discovery_title.clone().into(),
            );
            let urls: Vec<Value> = layout
                .roots
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
    json(StatusCode::OK, Value::Object(doc).to_string())
}
