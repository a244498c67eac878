//! `GET /taxii2/`: the stored discovery resource (as a medallion data file holds it), or one
//! generated from the API roots.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::dispatch::Ctx;
use crate::error::taxii_response;
use crate::layout::Layout;

pub(crate) fn get(ctx: &Ctx<'_>, layout: &Layout) -> Response {
    taxii_response(StatusCode::OK, body(ctx, layout))
}

/// The discovery resource's text, the same for TAXII 2.0's `/taxii/`.
pub(crate) fn body(ctx: &Ctx<'_>, layout: &Layout) -> Bytes {
    layout
        .discovery_body
        .get_or_init(|| Bytes::from(render(ctx, layout)))
        .clone()
}

fn render(ctx: &Ctx<'_>, layout: &Layout) -> String {
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
    Value::Object(doc).to_string()
}
