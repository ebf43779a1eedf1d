//! The one error type handlers return, rendered as docs/api.md's error body:
//! `{"error": {"code": "...", "message": "...", "details": {}}}`.
//!
//! Layering: repos return `DbError`; services return their module's error enum; handlers
//! convert that into `ApiError`. Unexpected errors keep their cause for the log and answer an
//! opaque 500 (or 503 when a backing service is down).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use contracts::ServiceError;
use contracts::wallet::WalletError;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

pub type ApiResult<T> = Result<T, ApiError>;

/// The error body, for the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable, e.g. `insufficient_balance`.
    pub code: String,
    pub message: String,
    /// Extra data, e.g. `{"fields": {"email": "must be a valid email"}}`.
    #[schema(value_type = Object)]
    pub details: Value,
}

pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    details: Value,
    retry_after: Option<u64>,
    cause: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            details: json!({}),
            retry_after: None,
            cause: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    pub fn with_cause(mut self, cause: impl Into<anyhow::Error>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn details(&self) -> &Value {
        &self.details
    }

    /// 400 `validation_failed` with `{"fields": {name: problem}}`.
    pub fn validation(fields: BTreeMap<String, String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", "The request is not valid.")
            .with_details(json!({ "fields": fields }))
    }

    pub fn invalid_field(field: &str, problem: impl Into<String>) -> Self {
        ApiError::validation(BTreeMap::from([(field.to_string(), problem.into())]))
    }

    pub fn invalid_json(message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden() -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", "You are not allowed to do this.")
    }

    pub fn forbidden_because(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    pub fn payload_too_large() -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large.")
    }

    pub fn unsupported_media_type() -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The request body must be JSON (Content-Type: application/json).",
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests; retry later.")
            .with_retry_after(retry_after_secs)
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error.").with_cause(cause)
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "A backing service is unavailable; retry later.")
            .with_cause(cause)
            .with_retry_after(1)
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed.")
    }

    pub fn body(&self) -> Value {
        json!({ "error": { "code": self.code, "message": self.message, "details": self.details } })
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status.as_u16())
            .field("code", &self.code)
            .field("message", &self.message)
            .field("cause", &self.cause)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Some(cause) => write!(f, "{} ({}): {cause:#}", self.code, self.message),
            None => write!(f, "{} ({})", self.code, self.message),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if self.status.is_server_error() {
            // The body says nothing more; the log has the cause, tied to the request id by the span.
            tracing::error!(code = %self.code, cause = ?self.cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.json(self.body())
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Unavailable(_) => ApiError::unavailable(err),
            ServiceError::Internal(_) => ApiError::internal(err),
        }
    }
}

impl From<WalletError> for ApiError {
    fn from(err: WalletError) -> Self {
        match err {
            WalletError::InsufficientBalance => {
                ApiError::conflict("insufficient_balance", "Your balance is too low for this.")
            }
            WalletError::IdempotencyConflict => ApiError::conflict(
                "idempotency_conflict",
                "This Idempotency-Key was already used with a different request.",
            ),
            WalletError::InvalidAmount => ApiError::invalid_field("amount", "must be a positive number of points"),
            WalletError::SameWallet | WalletError::Cancelled => ApiError::internal(err),
            WalletError::Service(e) => e.into(),
        }
    }
}

/// The status a well-known code answers with; pinned by a unit test against docs/api.md.
pub fn status_for_code(code: &str) -> Option<StatusCode> {
    Some(match code {
        "invalid_json" | "validation_failed" | "idempotency_key_required" | "invalid_token" => StatusCode::BAD_REQUEST,
        "unauthenticated" | "invalid_credentials" | "token_expired" => StatusCode::UNAUTHORIZED,
        "forbidden" | "email_not_verified" | "account_suspended" | "blocked" => StatusCode::FORBIDDEN,
        "not_found" => StatusCode::NOT_FOUND,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        "email_taken"
        | "name_taken"
        | "insufficient_balance"
        | "out_of_stock"
        | "cart_empty"
        | "cart_changed"
        | "mission_closed"
        | "limit_exceeded"
        | "idempotency_conflict"
        | "request_in_progress" => StatusCode::CONFLICT,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        "internal" => StatusCode::INTERNAL_SERVER_ERROR,
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => return None,
    })
}

fn generic_error_for_status(status: StatusCode) -> ApiError {
    match status.as_u16() {
        400 => ApiError::bad_request("bad_request", "The request is not valid."),
        401 => ApiError::unauthenticated("Authentication required."),
        403 => ApiError::forbidden(),
        404 => ApiError::not_found(),
        405 => ApiError::method_not_allowed(),
        408 => ApiError::new(status, "request_timeout", "The request took too long to arrive."),
        413 => ApiError::payload_too_large(),
        415 => ApiError::unsupported_media_type(),
        429 => ApiError::rate_limited(1),
        503 => ApiError::new(status, "unavailable", "A backing service is unavailable; retry later."),
        s if s >= 500 => ApiError::new(status, "internal", "Internal server error."),
        _ => ApiError::new(status, "error", status.canonical_reason().unwrap_or("Error")),
    }
}

/// Middleware hook (`ErrorHandlers::default_handler`): any error response that is not
/// already our JSON body (actix's own 404/405/413, rate limiter, a panic's 500) gets one.
pub fn json_error_body<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(res.status().is_client_error() || res.status().is_server_error()) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let allow = res.headers().get(header::ALLOW).cloned();
    let (req, _) = res.into_parts();
    let mut api_error = generic_error_for_status(status);
    api_error.retry_after = None;
    let mut response = HttpResponse::build(status);
    if let Some(v) = retry_after {
        response.insert_header((header::RETRY_AFTER, v));
    } else if status == StatusCode::TOO_MANY_REQUESTS {
        response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
    }
    if let Some(v) = allow {
        response.insert_header((header::ALLOW, v));
    }
    let response = response.json(api_error.body());
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, response).map_into_right_body()))
}

/// Default service: unknown routes.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found())
}

/// Path segments that do not parse (e.g. a non-integer id) are unknown resources.
pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::not_found().into()
}

pub fn query_error(err: actix_web::error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("validation_failed", "The query string is not valid.")
        .with_details(json!({ "fields": { "query": err.to_string() } }))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code of docs/api.md's error table answers its documented status.
    #[test]
    fn error_codes_map_to_the_documented_statuses() {
        let table: &[(u16, &[&str])] = &[
            (400, &["invalid_json", "validation_failed", "idempotency_key_required", "invalid_token"]),
            (401, &["unauthenticated", "invalid_credentials", "token_expired"]),
            (403, &["forbidden", "email_not_verified", "account_suspended", "blocked"]),
            (404, &["not_found"]),
            (405, &["method_not_allowed"]),
            (
                409,
                &[
                    "email_taken",
                    "name_taken",
                    "insufficient_balance",
                    "out_of_stock",
                    "cart_empty",
                    "cart_changed",
                    "mission_closed",
                    "limit_exceeded",
                    "idempotency_conflict",
                    "request_in_progress",
                ],
            ),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["rate_limited"]),
            (500, &["internal"]),
            (503, &["unavailable"]),
        ];
        for (status, codes) in table {
            for code in *codes {
                assert_eq!(status_for_code(code).map(|s| s.as_u16()), Some(*status), "{code}");
            }
        }
    }

    #[test]
    fn constructors_agree_with_the_table() {
        let errors = [
            ApiError::invalid_field("x", "bad"),
            ApiError::invalid_json("x"),
            ApiError::unauthenticated("x"),
            ApiError::forbidden(),
            ApiError::not_found(),
            ApiError::payload_too_large(),
            ApiError::unsupported_media_type(),
            ApiError::rate_limited(3),
            ApiError::internal(anyhow::anyhow!("boom")),
            ApiError::unavailable(anyhow::anyhow!("down")),
            ApiError::method_not_allowed(),
            crate::auth::suspended_error(),
            ApiError::from(WalletError::InsufficientBalance),
            ApiError::from(WalletError::IdempotencyConflict),
            ApiError::from(ServiceError::Unavailable("db".into())),
        ];
        for e in errors {
            assert_eq!(status_for_code(e.code()), Some(e.status()), "{e}");
        }
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let e = ApiError::internal(anyhow::anyhow!("password=hunter2"));
        assert!(!e.body().to_string().contains("hunter2"));
        assert_eq!(e.body()["error"]["code"], "internal");
    }

    #[test]
    fn validation_errors_name_their_fields() {
        let e = ApiError::invalid_field("email", "must be a valid email");
        assert_eq!(e.body()["error"]["details"]["fields"]["email"], "must be a valid email");
    }
}
