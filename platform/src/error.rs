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
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

pub type ApiResult<T> = Result<T, ApiError>;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $status:ident $wire:literal,)+) => {
        /// Every error code the API answers with: its wire string and the HTTP status it goes
        /// with. docs/api.md's error table lists the same pairs (a test reads the table).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The `error.code` string of the body.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)+
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)+
                }
            }
        }
    };
}

error_codes! {
    InvalidJson = BAD_REQUEST "invalid_json",
    ValidationFailed = BAD_REQUEST "validation_failed",
    IdempotencyKeyRequired = BAD_REQUEST "idempotency_key_required",
    /// A verification or password-reset token unknown, used or expired.
    InvalidToken = BAD_REQUEST "invalid_token",
    BadRequest = BAD_REQUEST "bad_request",
    Unauthenticated = UNAUTHORIZED "unauthenticated",
    InvalidCredentials = UNAUTHORIZED "invalid_credentials",
    TokenExpired = UNAUTHORIZED "token_expired",
    /// A refresh token unknown, revoked or reused: the same wire code as `InvalidToken`, but 401.
    InvalidRefreshToken = UNAUTHORIZED "invalid_token",
    PaymentRefused = PAYMENT_REQUIRED "payment_refused",
    Forbidden = FORBIDDEN "forbidden",
    EmailNotVerified = FORBIDDEN "email_not_verified",
    AccountSuspended = FORBIDDEN "account_suspended",
    Blocked = FORBIDDEN "blocked",
    NotFound = NOT_FOUND "not_found",
    MethodNotAllowed = METHOD_NOT_ALLOWED "method_not_allowed",
    RequestTimeout = REQUEST_TIMEOUT "request_timeout",
    EmailTaken = CONFLICT "email_taken",
    NameTaken = CONFLICT "name_taken",
    InsufficientBalance = CONFLICT "insufficient_balance",
    OutOfStock = CONFLICT "out_of_stock",
    CartEmpty = CONFLICT "cart_empty",
    CartChanged = CONFLICT "cart_changed",
    MissionClosed = CONFLICT "mission_closed",
    LimitExceeded = CONFLICT "limit_exceeded",
    IdempotencyConflict = CONFLICT "idempotency_conflict",
    RequestInProgress = CONFLICT "request_in_progress",
    RefundExceedsCharge = CONFLICT "refund_exceeds_charge",
    InvalidChargeState = CONFLICT "invalid_charge_state",
    InvalidOrderState = CONFLICT "invalid_order_state",
    InvalidOutboxState = CONFLICT "invalid_outbox_state",
    StockReserved = CONFLICT "stock_reserved",
    PayloadTooLarge = PAYLOAD_TOO_LARGE "payload_too_large",
    UnsupportedMediaType = UNSUPPORTED_MEDIA_TYPE "unsupported_media_type",
    RateLimited = TOO_MANY_REQUESTS "rate_limited",
    Internal = INTERNAL_SERVER_ERROR "internal",
    Unavailable = SERVICE_UNAVAILABLE "unavailable",
}

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
    code: &'static str,
    message: Cow<'static, str>,
    details: Value,
    retry_after: Option<u64>,
    cause: Option<anyhow::Error>,
}

impl ApiError {
    /// The error `code` answers with, at the code's status.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::with_status(code.status(), code.as_str(), message)
    }

    /// Only for statuses the framework produces that no code stands for (`json_error_body`).
    fn with_status(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError { status, code, message: message.into(), details: json!({}), retry_after: None, cause: None }
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
        self.code
    }

    pub fn details(&self) -> &Value {
        &self.details
    }

    /// 400 `validation_failed` with `{"fields": {name: problem}}`.
    pub fn validation(fields: BTreeMap<String, String>) -> Self {
        ApiError::new(ErrorCode::ValidationFailed, "The request is not valid.")
            .with_details(json!({ "fields": fields }))
    }

    pub fn invalid_field(field: &str, problem: impl Into<String>) -> Self {
        ApiError::validation(BTreeMap::from([(field.to_string(), problem.into())]))
    }

    pub fn invalid_json(message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(ErrorCode::InvalidJson, message)
    }

    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        ApiError::new(ErrorCode::Unauthenticated, message)
    }

    pub fn forbidden() -> Self {
        ApiError::new(ErrorCode::Forbidden, "You are not allowed to do this.")
    }

    pub fn not_found() -> Self {
        ApiError::new(ErrorCode::NotFound, "Not found.")
    }

    pub fn payload_too_large() -> Self {
        ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large.")
    }

    pub fn unsupported_media_type() -> Self {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "The request body must be JSON (Content-Type: application/json).",
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        ApiError::new(ErrorCode::RateLimited, "Too many requests; retry later.").with_retry_after(retry_after_secs)
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::new(ErrorCode::Internal, "Internal server error.").with_cause(cause)
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        ApiError::new(ErrorCode::Unavailable, "A backing service is unavailable; retry later.")
            .with_cause(cause)
            .with_retry_after(1)
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(ErrorCode::MethodNotAllowed, "Method not allowed.")
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

fn generic_error_for_status(status: StatusCode) -> ApiError {
    match status.as_u16() {
        400 => ApiError::new(ErrorCode::BadRequest, "The request is not valid."),
        401 => ApiError::unauthenticated("Authentication required."),
        403 => ApiError::forbidden(),
        404 => ApiError::not_found(),
        405 => ApiError::method_not_allowed(),
        408 => ApiError::new(ErrorCode::RequestTimeout, "The request took too long to arrive."),
        413 => ApiError::payload_too_large(),
        415 => ApiError::unsupported_media_type(),
        429 => ApiError::rate_limited(1),
        503 => ApiError::new(ErrorCode::Unavailable, "A backing service is unavailable; retry later."),
        // Other statuses keep their own status (a 502 stays a 502) under the generic codes.
        s if s >= 500 => ApiError::with_status(status, ErrorCode::Internal.as_str(), "Internal server error."),
        _ => ApiError::with_status(status, "error", status.canonical_reason().unwrap_or("Error")),
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
    ApiError::new(ErrorCode::ValidationFailed, "The query string is not valid.")
        .with_details(json!({ "fields": { "query": err.to_string() } }))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// `(code, status)` of every row of docs/api.md's error table (`| `code` | status | …`).
    fn documented_codes() -> BTreeSet<(String, u16)> {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md")).unwrap();
        let table = &doc[doc.find("| code | status |").expect("docs/api.md has the error table")..];
        let rows: BTreeSet<(String, u16)> = table
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let code = cells[1].trim_matches('`');
                match cells[2].parse() {
                    Ok(status) => Some((code.to_string(), status)),
                    // `error` ("other 4xx") is the fallback for framework statuses no code
                    // stands for (`generic_error_for_status`), not a code of its own.
                    Err(_) if code == "error" => None,
                    Err(_) => panic!("no status in {line}"),
                }
            })
            .collect();
        assert!(rows.len() > 20, "the error table scan found too little: {rows:?}");
        rows
    }

    /// `ErrorCode` and docs/api.md's error table list the same codes at the same statuses.
    #[test]
    fn error_codes_are_the_documented_ones() {
        let coded: BTreeSet<(String, u16)> =
            ErrorCode::ALL.iter().map(|c| (c.as_str().to_string(), c.status().as_u16())).collect();
        assert_eq!(coded.len(), ErrorCode::ALL.len(), "two codes with the same wire string and status");
        let documented = documented_codes();
        let undocumented: Vec<_> = coded.difference(&documented).collect();
        let uncoded: Vec<_> = documented.difference(&coded).collect();
        assert!(undocumented.is_empty(), "codes missing from docs/api.md's error table: {undocumented:?}");
        assert!(uncoded.is_empty(), "documented codes ErrorCode lacks: {uncoded:?}");
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
            ApiError::from(ServiceError::Unavailable("db".into())),
        ];
        let documented = documented_codes();
        for e in errors {
            assert!(documented.contains(&(e.code().to_string(), e.status().as_u16())), "{e}");
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
