//! `GET {api-root}/`: the API root information as configured, with the required members the
//! configuration left out filled in (so `max_content_length` always states the limit enforced).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};
use taxii_model::media::TAXII_21;
use taxii_store::ApiRootRecord;

use super::json;
use crate::dispatch::Ctx;
use crate::error::ApiError;

/// The largest integer a TAXII resource may carry (TAXII 2.1 §2: ±(2^53 − 1)).
const MAX_TAXII_INTEGER: u64 = (1 << 53) - 1;

/// The body limit of POSTs under this API root. A configured limit beyond the TAXII integer
/// range is capped to it, so the value advertised is both valid and the one enforced.
pub(crate) fn max_content_length(ctx: &Ctx<'_>, root: Option<&ApiRootRecord>) -> u64 {
    root.and_then(|r| r.information.get("max_content_length"))
        .and_then(Value::as_u64)
        .filter(|n| *n >= 1)
        .unwrap_or(ctx.app.settings.default_max_content_length)
        .min(MAX_TAXII_INTEGER)
}

pub(crate) fn get(ctx: &Ctx<'_>, root: Option<&ApiRootRecord>) -> Result<Response, ApiError> {
    let info = information(ctx, root)?;
    Ok(json(StatusCode::OK, Value::Object(info).to_string()))
}

/// The API root information resource (its 2.1 `versions` unless configured otherwise).
pub(crate) fn information(
    ctx: &Ctx<'_>,
    root: Option<&ApiRootRecord>,
) -> Result<Map<String, Value>, ApiError> {
    let record = root.ok_or_else(|| ApiError::not_found("API root"))?;
    let mut info: Map<String, Value> = record.information.clone();
    info.entry("title")
        .or_insert_with(|| record.name.clone().into());
    info.entry("versions")
        .or_insert_with(|| Value::Array(vec![TAXII_21.into()]));
    info.insert(
        "max_content_length".into(),
        max_content_length(ctx, root).into(),
    );
    Ok(info)
}
