//! The single entry point of every request: the health probes aside, authenticate first (so
//! unauthenticated callers learn nothing from 404 or 406; without credentials only what
//! `anonymous` permits goes on), then route, check the method, negotiate, and hand over to the
//! resource's handler. A request that speaks TAXII 2.0 goes to `v20` after routing.

use std::net::IpAddr;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use taxii_model::media::{MediaType, TAXII_20, TAXII_21, negotiate};

use crate::AppState;
use crate::access_log::RequestNote;
use crate::anonymous;
use crate::auth::{self, Principal};
use crate::error::ApiError;
use crate::forwarded::ClientAddr;
use crate::handlers;
use crate::route::{self, Route};
use crate::telemetry::{self, MetricsAccess};
use crate::tls::ClientCert;
use crate::v20;

/// What every handler gets.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub app: &'a AppState,
    pub user: &'a Principal,
    pub query: Option<&'a str>,
}

pub(crate) async fn dispatch(State(app): State<AppState>, req: Request) -> Response {
    let head = req.method() == Method::HEAD;
    let speaks_20 = v20::requested(req.method(), req.uri().path(), req.headers());
    let mut resp = handle(&app, req, speaks_20)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    if speaks_20 {
        v20::relabel(&mut resp);
    }
    if head {
        // The GET's headers, Content-Length included, without its body.
        use axum::body::HttpBody;
        if let Some(len) = resp.body().size_hint().exact() {
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        *resp.body_mut() = Body::empty();
    }
    resp
}

/// The caller; for one without credentials also the 401 to answer unless `anonymous` permits
/// the request. A client address with too many failed logins gets 429 before any check.
async fn caller(
    app: &AppState,
    headers: &HeaderMap,
    cert: Option<&ClientCert>,
    client: Option<IpAddr>,
) -> Result<(Principal, Option<ApiError>), ApiError> {
    if let Some(retry_after) = client.and_then(|ip| app.auth_failures.blocked(ip, Instant::now())) {
        return Err(ApiError::TooManyRequests {
            retry_after,
            why: "Too many failed logins from this address",
        });
    }
    // Without an Authorization header or a client certificate the caller may still read
    // public collections; with one that fails, never.
    let has_credentials = headers.contains_key(header::AUTHORIZATION) || cert.is_some();
    match auth::authenticate(app, headers, cert).await {
        Ok(user) => Ok((user, None)),
        Err(e @ ApiError::Unauthorized { .. }) if !has_credentials => {
            Ok((Principal::anonymous(), Some(e)))
        }
        Err(e @ ApiError::Unauthorized { .. }) => {
            if let Some(ip) = client {
                app.auth_failures.record(ip, Instant::now());
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}

async fn handle(app: &AppState, req: Request, speaks_20: bool) -> Result<Response, ApiError> {
    let note = req
        .extensions()
        .get::<RequestNote>()
        .cloned()
        .unwrap_or_default();
    if let Some(resp) =
        crate::health::probe(app.store.as_ref(), req.method(), req.uri().path()).await
    {
        note.endpoint("health");
        return Ok(resp);
    }
    let client = req.extensions().get::<ClientAddr>().map(|c| c.0);
    let cert = req.extensions().get::<ClientCert>();
    let metrics = app
        .metrics
        .as_ref()
        .filter(|_| req.uri().path() == telemetry::PATH);
    if let Some(m) = metrics {
        note.endpoint("metrics");
        if m.access == MetricsAccess::Public {
            return Ok(telemetry::render(app.store.as_ref(), m, req.method()).await);
        }
    }
    let (user, refusal) = caller(app, req.headers(), cert, client).await?;
    if !user.anonymous {
        note.user(&user.name);
        if let Some(wait) = app.user_rates.as_ref().and_then(|r| r.check(&user.name)) {
            return Err(ApiError::TooManyRequests {
                retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                why: "This user is sending requests faster than the server allows",
            });
        }
    }
    if let Some(m) = metrics {
        return match refusal {
            Some(refusal) => Err(refusal),
            None => Ok(telemetry::render(app.store.as_ref(), m, req.method()).await),
        };
    }
    let layout = app.layout.get(app.store.as_ref()).await?;
    let roots = &layout.roots;
    let parsed = route::parse(req.uri().path(), roots.iter().map(|r| r.name.as_str()));
    if let Some(refusal) = refusal {
        let allowed = match &parsed {
            Some(route) => anonymous::permitted(app, roots, route, req.method()).await?,
            None => false,
        };
        if !allowed {
            return Err(refusal);
        }
    }
    let route = parsed
        .ok_or_else(|| ApiError::NotFound("there is no TAXII resource at this path".into()))?;
    note.endpoint(route.name());
    if speaks_20 {
        return v20::serve(app, &user, route, req, &layout).await;
    }
    if route == Route::Discovery20 {
        return Err(ApiError::NotAcceptable(TAXII_20));
    }
    let method = req.method().clone();
    let supported = match method {
        Method::GET | Method::HEAD => true,
        Method::POST => matches!(route, Route::Objects { .. }),
        Method::DELETE => matches!(route, Route::Object { .. }),
        Method::OPTIONS => {
            let mut resp = StatusCode::NO_CONTENT.into_response();
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(route.allow()));
            return Ok(resp);
        }
        _ => false,
    };
    if !supported {
        return Err(ApiError::MethodNotAllowed {
            allow: route.allow(),
        });
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .map(|v| v.to_str().unwrap_or("\u{0}invalid"));
    if negotiate(accept, &[MediaType::TAXII_21]).is_none() {
        return Err(ApiError::NotAcceptable(TAXII_21));
    }
    let (parts, body) = req.into_parts();
    let ctx = Ctx {
        app,
        user: &user,
        query: parts.uri.query(),
    };
    let root_of = |name: &str| roots.iter().find(|r| r.name == name);
    match route {
        Route::Discovery => Ok(handlers::discovery::get(&ctx, &layout)),
        Route::Discovery20 => Err(ApiError::NotAcceptable(TAXII_20)),
        Route::ApiRoot { root } => handlers::api_root::get(&ctx, root_of(&root)),
        Route::Status { root, id } => handlers::status::get(&ctx, &root, &id).await,
        Route::Collections { root } => handlers::collections::list(&ctx, &root).await,
        Route::Collection { root, collection } => {
            handlers::collections::get(&ctx, &root, &collection).await
        }
        Route::Manifest { root, collection } => {
            handlers::manifest::get(&ctx, &root, &collection).await
        }
        Route::Objects { root, collection } if method == Method::POST => {
            let limit = handlers::api_root::max_content_length(&ctx, root_of(&root));
            handlers::add::post(&ctx, &root, &collection, &parts.headers, body, limit).await
        }
        Route::Objects { root, collection } => {
            handlers::objects::list(&ctx, &root, &collection).await
        }
        Route::Object {
            root,
            collection,
            object,
        } if method == Method::DELETE => {
            handlers::objects::delete(&ctx, &root, &collection, &object).await
        }
        Route::Object {
            root,
            collection,
            object,
        } => handlers::objects::get_one(&ctx, &root, &collection, &object).await,
        Route::Versions {
            root,
            collection,
            object,
        } => handlers::versions::get(&ctx, &root, &collection, &object).await,
    }
}
