//! `POST {api-root}/collections/{id}/objects/`: validate the envelope, store the valid objects
//! in one store call, and answer 202 with a status resource that lists every object's fate.
//!
//! The body is read up to the API root's `max_content_length` and no further (413 past it,
//! also for chunked bodies). Objects are kept as the exact JSON text received.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use taxii_model::media::{MediaType, TAXII_21, content_type_is};
use taxii_model::{NewObject, ObjectFailure, Timestamp};
use taxii_store::{AddOutcome, StatusRecord};

use super::{collection, json};
use crate::dispatch::Ctx;
use crate::error::ApiError;

async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || ApiError::PayloadTooLarge { limit };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    let collected = tokio::time::timeout(timeout, Limited::new(body, cap).collect())
        .await
        .map_err(|_| ApiError::RequestTimeout {
            secs: timeout.as_secs(),
        })?;
    match collected {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(ApiError::BadRequest(format!(
            "the request body could not be read: {e}"
        ))),
    }
}

/// The envelope's `objects` list, or why the body is not an envelope.
fn envelope_members(body: &str) -> Result<Vec<&RawValue>, ApiError> {
    let raw: &RawValue = serde_json::from_str(body)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
    let unprocessable = |m: &str| ApiError::Unprocessable(m.to_owned());
    let top: HashMap<String, &RawValue> = serde_json::from_str(raw.get()).map_err(|_| {
        unprocessable(
            "the request body must be a TAXII envelope: a JSON object with an 'objects' list",
        )
    })?;
    // A STIX bundle is taken as an envelope (its 'type' and 'id' are ignored): stix2's
    // TAXIICollectionSink posts bundles, and medallion accepts them.
    if let Some(t) = top.get("type")
        && serde_json::from_str::<String>(t.get()).ok().as_deref() != Some("bundle")
    {
        return Err(unprocessable(
            "the request body is a STIX object (it has a 'type'); post a TAXII envelope with an 'objects' list",
        ));
    }
    let objects = top
        .get("objects")
        .ok_or_else(|| unprocessable("the envelope has no 'objects' list"))?;
    let members: Vec<&RawValue> = serde_json::from_str(objects.get())
        .map_err(|_| unprocessable("the envelope's 'objects' must be a list"))?;
    if members.is_empty() {
        return Err(unprocessable("the envelope's 'objects' list is empty"));
    }
    Ok(members)
}

fn detail(id: &str, version: &str, message: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), id.into());
    m.insert("version".into(), version.into());
    if let Some(msg) = message {
        m.insert("message".into(), msg.into());
    }
    Value::Object(m)
}

/// The status resource of an envelope: every object's fate, in the envelope's order. `fates`
/// holds a failure, or the index of the object among the valid ones (and in `outcomes`).
fn status_json(
    status_id: &str,
    now: Timestamp,
    total: usize,
    fates: Vec<Result<usize, ObjectFailure>>,
    ids: &[(String, String)],
    outcomes: &[AddOutcome],
) -> String {
    let (mut successes, mut failures) = (Vec::new(), Vec::new());
    for fate in fates {
        match fate {
            Err(f) => failures.push(detail(&f.id, &f.version, Some(&f.message))),
            Ok(i) => {
                let id = &ids[i].0;
                match outcomes.get(i) {
                    Some(AddOutcome::Added { version }) => {
                        successes.push(detail(id, version, None))
                    }
                    Some(AddOutcome::AlreadyPresent { version }) => successes.push(detail(
                        id,
                        version,
                        Some("this version was already present; the stored copy is unchanged"),
                    )),
                    Some(AddOutcome::Conflict { version }) => failures.push(detail(
                        id,
                        version,
                        Some("a different object with this id and version is already stored"),
                    )),
                    None => failures.push(detail(
                        id,
                        &ids[i].1,
                        Some("the store did not report on this object"),
                    )),
                }
            }
        }
    }
    let mut status = json!({
        "id": status_id,
        "status": "complete",
        "request_timestamp": now.to_taxii_string(),
        "total_count": total,
        "success_count": successes.len(),
        "failure_count": failures.len(),
        "pending_count": 0,
    });
    if let Value::Object(m) = &mut status {
        if !successes.is_empty() {
            m.insert("successes".into(), Value::Array(successes));
        }
        if !failures.is_empty() {
            m.insert("failures".into(), Value::Array(failures));
        }
    }
    status.to_string()
}

/// Bodies larger than this are checked on the blocking pool.
const BLOCKING_PARSE_BYTES: usize = 64 * 1024;

/// A checked envelope: its valid objects, every member's fate (a failure, or the index among
/// `valid`), the (id, version) of each valid object for its status, and the member count.
struct Parsed {
    valid: Vec<NewObject>,
    fates: Vec<Result<usize, ObjectFailure>>,
    ids: Vec<(String, String)>,
    total: usize,
}

impl Parsed {
    fn from_body(bytes: &[u8]) -> Result<Parsed, ApiError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ApiError::BadRequest("the request body is not UTF-8".into()))?;
        let members = envelope_members(text)?;
        let mut valid = Vec::new();
        let mut fates: Vec<Result<usize, ObjectFailure>> = Vec::with_capacity(members.len());
        for raw in &members {
            fates.push(NewObject::from_raw(raw).map(|o| {
                valid.push(o);
                valid.len() - 1
            }));
        }
        let ids = valid
            .iter()
            .map(|o| {
                (
                    o.id.clone(),
                    o.version
                        .as_ref()
                        .map(|v| v.text.clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        Ok(Parsed {
            valid,
            fates,
            ids,
            total: members.len(),
        })
    }
}

pub(crate) async fn post(
    ctx: &Ctx<'_>,
    root: &str,
    coll: &str,
    headers: &HeaderMap,
    body: Body,
    limit: u64,
) -> Result<Response, ApiError> {
    let request = AddRequest {
        headers,
        body,
        limit,
        body_type: (&MediaType::TAXII_21, TAXII_21),
    };
    let status = add(ctx, root, coll, request).await?;
    Ok(json(StatusCode::ACCEPTED, status.json))
}

/// An Add Objects request as it arrived.
pub(crate) struct AddRequest<'a> {
    pub headers: &'a HeaderMap,
    pub body: Body,
    /// The API root's `max_content_length`.
    pub limit: u64,
    /// The `Content-Type` the body must have, and its spelling for the 415 message: 2.1's
    /// TAXII type, or 2.0's STIX type (a bundle).
    pub body_type: (&'a MediaType, &'static str),
}

/// Checks and stores an envelope (or bundle) and returns its stored status.
pub(crate) async fn add(
    ctx: &Ctx<'_>,
    root: &str,
    coll: &str,
    request: AddRequest<'_>,
) -> Result<StatusRecord, ApiError> {
    let AddRequest {
        headers,
        body,
        limit,
        body_type: (expected, label),
    } = request;
    let c = collection(ctx, root, coll).await?;
    if !ctx.user.may(&c.write) {
        return Err(ApiError::Forbidden(format!(
            "writing to collection '{}' is not permitted",
            c.id
        )));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type_is(content_type, expected) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the Content-Type must be {label}"
        )));
    }
    let bytes = read_body(headers, body, limit, ctx.app.settings.body_timeout).await?;
    // Checking an envelope of 1,000 objects takes milliseconds of CPU: on the blocking pool
    // it does not hold up the other requests that share this runtime worker.
    let parsed = if bytes.len() > BLOCKING_PARSE_BYTES {
        tokio::task::spawn_blocking(move || Parsed::from_body(&bytes))
            .await
            .map_err(|e| ApiError::Internal(format!("the envelope check failed: {e}")))??
    } else {
        Parsed::from_body(&bytes)?
    };
    let Parsed {
        valid,
        fates,
        ids,
        total,
    } = parsed;
    let now = ctx.app.clock.now();
    let status_id = uuid::Uuid::new_v4().to_string();
    let (api_root, id, owner) = (root.to_owned(), status_id.clone(), ctx.user.name.clone());
    // Built from the outcomes inside the store's transaction, so the status is stored with the
    // objects it reports on.
    let status_of = Box::new(move |outcomes: &[AddOutcome]| StatusRecord {
        json: status_json(&id, now, total, fates, &ids, outcomes),
        api_root,
        id,
        owner: Some(owner),
        created: now,
    });
    let status = ctx
        .app
        .store
        .add_envelope(root, &c.id, valid, now, status_of)
        .await?;
    crate::telemetry::record_objects_received(total);
    // The audit trail: who added how many objects where (target `taxiid::audit`).
    tracing::info!(
        target: "taxiid::audit",
        user = %ctx.user.name, api_root = root, collection = %c.id, status = %status_id,
        total, "added objects"
    );
    Ok(status)
}
