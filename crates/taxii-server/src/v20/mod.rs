//! TAXII 2.0, the protocol of medallion 1.x, served from the same store as 2.1.
//!
//! A request speaks 2.0 when it asks for a 2.0 media type (`application/vnd.oasis.…`) or is
//! sent to `/taxii/`; everything else is 2.1. The API-root URL space is shared: the same
//! collection answers a 2.0 client with a STIX bundle and Range pages, and a 2.1 client with
//! an envelope and `next` pages. 2.0 has no DELETE and no `/versions/`.

mod objects;
mod resources;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use taxii_model::SpecVersion;
use taxii_model::items::ItemsRange;
use taxii_model::media::{MediaType, STIX_20, TAXII_20, TAXII_21, negotiate, parse_accept};

use crate::AppState;
use crate::auth::Principal;
use crate::dispatch::Ctx;
use crate::error::ApiError;
use crate::handlers;
use crate::handlers::add::AddRequest;
use crate::layout::Layout;
use crate::route::Route;

/// Whether a request speaks TAXII 2.0. Most requests name no `vnd.oasis` type at all and are
/// told apart by a substring test alone.
pub(crate) fn requested(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let (accept, content_type) = (text(header::ACCEPT), text(header::CONTENT_TYPE));
    if matches!(path, "/taxii/" | "/taxii") {
        // The path is 2.0's own; only an Accept that refuses 2.0 makes it a 406 of 2.1.
        return negotiate(accept, &[MediaType::TAXII_20]).is_some();
    }
    const OASIS: &[u8] = b"application/vnd.oasis.";
    let oasis = |v: Option<&str>| {
        v.is_some_and(|s| {
            s.as_bytes()
                .windows(OASIS.len())
                .any(|w| w.eq_ignore_ascii_case(OASIS))
        })
    };
    let posts_20 = *method == Method::POST && oasis(content_type);
    if !oasis(accept) && !posts_20 {
        return false;
    }
    let families = [MediaType::TAXII_21, MediaType::TAXII_20, MediaType::STIX_20];
    match negotiate(accept, &families) {
        Some(i) if i > 0 => true,
        // A 2.0 body with an Accept that does not ask for 2.1 by name is a 2.0 client.
        _ => posts_20 && !names_taxii_21(accept),
    }
}

fn names_taxii_21(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        parse_accept(a)
            .iter()
            .any(|r| r.type_ == "application" && r.subtype == "taxii+json" && r.quality > 0)
    })
}

/// Relabels a 2.1-labelled answer (an error built by the shared code) as 2.0.
pub(crate) fn relabel(resp: &mut Response) {
    let h = resp.headers_mut();
    if h.get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == TAXII_21.as_bytes())
    {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_20));
    }
}

/// The STIX version 2.0 clients are served: STIX 2.0 (a 2.0 bundle says `spec_version:
/// "2.0"`), unless the server is told to hand them 2.1 objects too (`None`: any). Selection
/// itself is 2.1's default (the latest spec version of each object), so an object that has
/// moved on to STIX 2.1 is not shown to 2.0 clients as its outdated 2.0 version.
pub(crate) fn served_spec(ctx: &Ctx<'_>) -> Option<SpecVersion> {
    (!ctx.app.settings.taxii20_serves_stix21).then_some(SpecVersion::V2_0)
}

fn allow(route: &Route) -> &'static str {
    match route {
        Route::Objects { .. } => "GET, HEAD, POST",
        _ => "GET, HEAD",
    }
}

/// A 2.0 request, after authentication and routing.
pub(crate) async fn serve(
    app: &AppState,
    user: &Principal,
    route: Route,
    req: Request,
    layout: &Layout,
) -> Result<Response, ApiError> {
    let method = req.method().clone();
    if let Route::Versions { .. } = route {
        return Err(ApiError::NotFound(
            "TAXII 2.0 has no versions endpoint; ask with the TAXII 2.1 media type".into(),
        ));
    }
    if method == Method::OPTIONS {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow(&route)));
        return Ok(resp);
    }
    let posting = method == Method::POST && matches!(route, Route::Objects { .. });
    if !(posting || matches!(method, Method::GET | Method::HEAD)) {
        return Err(ApiError::MethodNotAllowed {
            allow: allow(&route),
        });
    }
    let stix_out = !posting && matches!(route, Route::Objects { .. } | Route::Object { .. });
    let (produces, label) = if stix_out {
        (MediaType::STIX_20, STIX_20)
    } else {
        (MediaType::TAXII_20, TAXII_20)
    };
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .map(|v| v.to_str().unwrap_or("\u{0}invalid"));
    if negotiate(accept, &[produces]).is_none() {
        return Err(ApiError::NotAcceptable(label));
    }
    // Only the listings are paged; elsewhere a Range header is ignored, as HTTP allows.
    let paged = !posting
        && matches!(
            route,
            Route::Collections { .. } | Route::Manifest { .. } | Route::Objects { .. }
        );
    let range = match req.headers().get(header::RANGE).filter(|_| paged) {
        None => None,
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| ApiError::BadRequest("the Range header is not ASCII text".into()))?;
            Some(ItemsRange::parse(text).map_err(|e| ApiError::BadRequest(e.to_string()))?)
        }
    };
    let (parts, body) = req.into_parts();
    let ctx = Ctx {
        app,
        user,
        query: parts.uri.query(),
    };
    let root_of = |name: &str| layout.roots.iter().find(|r| r.name == name);
    match route {
        Route::Discovery20 => Ok(resources::discovery(&ctx, layout)),
        Route::Discovery => Err(ApiError::NotAcceptable(TAXII_21)),
        Route::ApiRoot { root } => resources::api_root(&ctx, root_of(&root)),
        Route::Status { root, id } => resources::status(&ctx, &root, &id).await,
        Route::Collections { root } => resources::collections(&ctx, &root, range).await,
        Route::Collection { root, collection } => {
            resources::collection(&ctx, &root, &collection).await
        }
        Route::Manifest { root, collection } => {
            objects::manifest(&ctx, &root, &collection, range).await
        }
        Route::Objects { root, collection } if posting => {
            // A STIX 2.0 bundle in, a 2.0 status out.
            let request = AddRequest {
                headers: &parts.headers,
                body,
                limit: handlers::api_root::max_content_length(&ctx, root_of(&root)),
                body_type: (&MediaType::STIX_20, STIX_20),
            };
            let status = handlers::add::add(&ctx, &root, &collection, request).await?;
            let body = resources::status_20(&status.json)?;
            Ok(resources::taxii20(StatusCode::ACCEPTED, body))
        }
        Route::Objects { root, collection } => {
            objects::objects(&ctx, &root, &collection, range).await
        }
        Route::Object {
            root,
            collection,
            object,
        } => objects::object(&ctx, &root, &collection, &object).await,
        Route::Versions { .. } => Err(ApiError::NotFound("no versions endpoint".into())),
    }
}
