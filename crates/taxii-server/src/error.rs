//! `ApiError`: the one error type of the HTTP layer and its rendering as a TAXII error
//! resource. Client-facing text is chosen here on purpose; internal causes are logged under an
//! `error_id` and never sent.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use taxii_model::QueryError;
use taxii_model::media::TAXII_21;
use taxii_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized { realm: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    /// The `Accept` header names nothing this endpoint produces; the type it does produce.
    #[error("not acceptable")]
    NotAcceptable(&'static str),
    /// TAXII 2.0: the requested items start past the end of the result.
    #[error("the requested range starts past the {total} items of the result")]
    RangeNotSatisfiable { total: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body exceeds the API root's max_content_length of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("{0}")]
    Unprocessable(String),
    #[error("storage unavailable")]
    Unavailable(String),
    /// Too many requests in flight: 503 with a short `Retry-After`.
    #[error("{0}")]
    Overloaded(String),
    #[error("the request body did not arrive within {secs} seconds")]
    RequestTimeout { secs: u64 },
    #[error("{why}; retry in {retry_after} seconds")]
    TooManyRequests { retry_after: u64, why: &'static str },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) | ApiError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code, sent as `error_code`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::NotAcceptable(_) => "not-acceptable",
            ApiError::RangeNotSatisfiable { .. } => "range-not-satisfiable",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::Unprocessable(_) => "unprocessable-content",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Overloaded(_) => "overloaded",
            ApiError::RequestTimeout { .. } => "request-timeout",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::Internal(_) => "internal-error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "Bad Request",
            ApiError::Unauthorized { .. } => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotFound(_) => "Not Found",
            ApiError::MethodNotAllowed { .. } => "Method Not Allowed",
            ApiError::NotAcceptable(_) => "Not Acceptable",
            ApiError::RangeNotSatisfiable { .. } => "Range Not Satisfiable",
            ApiError::UnsupportedMediaType(_) => "Unsupported Media Type",
            ApiError::PayloadTooLarge { .. } => "Payload Too Large",
            ApiError::Unprocessable(_) => "Unprocessable Content",
            ApiError::Unavailable(_) | ApiError::Overloaded(_) => "Service Unavailable",
            ApiError::RequestTimeout { .. } => "Request Timeout",
            ApiError::TooManyRequests { .. } => "Too Many Requests",
            ApiError::Internal(_) => "Internal Server Error",
        }
    }

    fn description(&self) -> String {
        match self {
            ApiError::Unauthorized { .. } => "Valid credentials are required.".into(),
            ApiError::MethodNotAllowed { allow } => {
                format!("This resource supports only: {allow}.")
            }
            ApiError::NotAcceptable(want) => format!(
                "The Accept header names no media type this endpoint can produce; use {want}."
            ),
            ApiError::Unavailable(_) => {
                "The storage backend is unavailable; retry later.".into()
            }
            ApiError::Internal(_) => {
                "The server could not complete the request; the error_id identifies it in the server log."
                    .into()
            }
            other => other.to_string(),
        }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Builds a response labelled as TAXII 2.1 JSON.
pub fn taxii_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_21));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = Map::new();
        body.insert("title".into(), self.title().into());
        body.insert("description".into(), self.description().into());
        body.insert("http_status".into(), status.as_u16().to_string().into());
        body.insert("error_code".into(), self.code().into());
        match &self {
            ApiError::Internal(cause) | ApiError::Unavailable(cause) => {
                crate::telemetry::record_server_error(self.code());
                let error_id = uuid::Uuid::new_v4().to_string();
                tracing::error!(%error_id, status = status.as_u16(), cause = %cause, "request failed");
                body.insert("error_id".into(), error_id.into());
            }
            _ => {}
        }
        let mut resp = taxii_response(status, Value::Object(body).to_string());
        let headers = resp.headers_mut();
        match &self {
            ApiError::Unauthorized { realm } => {
                // One challenge per scheme: passwords, and API tokens (`Token` is an alias).
                for challenge in [
                    format!("Basic realm=\"{realm}\", charset=\"UTF-8\""),
                    format!("Bearer realm=\"{realm}\""),
                ] {
                    if let Ok(v) = HeaderValue::from_str(&challenge) {
                        headers.append(header::WWW_AUTHENTICATE, v);
                    }
                }
            }
            ApiError::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::Overloaded(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::RangeNotSatisfiable { total } => {
                headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("items"));
                if let Ok(v) = HeaderValue::from_str(&taxii_model::items::unsatisfied_range(*total))
                {
                    headers.insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: ApiError) -> (StatusCode, axum::http::HeaderMap, Value) {
        let resp = e.into_response();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn every_error_is_a_taxii_error_resource() {
        let cases = [
            (ApiError::BadRequest("x".into()), 400),
            (
                ApiError::Unauthorized {
                    realm: "taxii".into(),
                },
                401,
            ),
            (ApiError::Forbidden("x".into()), 403),
            (ApiError::not_found("x"), 404),
            (ApiError::MethodNotAllowed { allow: "GET, HEAD" }, 405),
            (ApiError::NotAcceptable(TAXII_21), 406),
            (ApiError::RangeNotSatisfiable { total: 3 }, 416),
            (ApiError::UnsupportedMediaType("x".into()), 415),
            (ApiError::PayloadTooLarge { limit: 1 }, 413),
            (ApiError::Unprocessable("x".into()), 422),
            (ApiError::Unavailable("db down".into()), 503),
            (ApiError::Overloaded("busy".into()), 503),
            (ApiError::RequestTimeout { secs: 60 }, 408),
            (
                ApiError::TooManyRequests {
                    retry_after: 30,
                    why: "too many",
                },
                429,
            ),
            (ApiError::Internal("secret detail".into()), 500),
        ];
        for (err, code) in cases {
            // Server-side failures get an error_id to find them in the log; an overload is
            // the client's cue to retry, not a failure to look up.
            let logged = matches!(err, ApiError::Internal(_) | ApiError::Unavailable(_));
            let (status, headers, body) = body_of(err).await;
            assert_eq!(status.as_u16(), code);
            assert_eq!(headers[header::CONTENT_TYPE], TAXII_21);
            assert_eq!(body["http_status"], code.to_string());
            assert!(body["title"].is_string());
            assert!(!body.to_string().contains("secret detail"));
            assert!(!body.to_string().contains("db down"));
            assert_eq!(body.get("error_id").is_some(), logged);
        }
    }

    #[tokio::test]
    async fn challenges_and_allow_headers_are_set() {
        let (_, h, _) = body_of(ApiError::Unauthorized {
            realm: "taxii".into(),
        })
        .await;
        let challenges: Vec<&str> = h
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            challenges,
            [
                "Basic realm=\"taxii\", charset=\"UTF-8\"",
                "Bearer realm=\"taxii\""
            ]
        );
        let (_, h, _) = body_of(ApiError::MethodNotAllowed { allow: "GET, HEAD" }).await;
        assert_eq!(h[header::ALLOW], "GET, HEAD");
    }
}
