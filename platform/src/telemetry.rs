//! Logging setup, request ids and the tracing root span of each request.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::sync::OnceLock;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::EnvFilter;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber once: JSON lines in production, human text otherwise.
/// `RUST_LOG` wins over `log.level`.
pub fn init(level: &str, json: bool) {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
        let result = if json {
            builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
        } else {
            builder.try_init()
        };
        if let Err(e) = result {
            // Another subscriber (a test harness) is already installed; keep it.
            tracing::debug!(error = %e, "tracing subscriber already set");
        }
    });
}

/// `spawn_blocking` that keeps the caller's span, so diesel and argon2 work is logged with
/// the request id.
pub fn spawn_blocking_with_tracing<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}

/// The id of the current request: the client's `X-Request-Id` when it sent a sane one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic())).then(|| s.to_string())
}

/// Outermost middleware: decides the request id and echoes it on every response.
pub async fn request_id_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}

/// Root span with our request id (tracing-actix-web's own id ignores the client's header).
pub struct AppRootSpan;

impl RootSpanBuilder for AppRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".into());
        let client_ip = crate::http::client_ip(request.request()).map(|ip| ip.to_string()).unwrap_or_default();
        tracing::info_span!(
            "http_request",
            request_id = %request_id,
            http.method = %request.method(),
            http.route = %route,
            http.client_ip = %client_ip,
            http.status_code = tracing::field::Empty,
            account_id = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(res) => res.status().as_u16(),
            Err(err) => err.as_response_error().status_code().as_u16(),
        };
        span.record("http.status_code", status);
        // Access log at debug (`RUST_LOG=access=debug`); 5xx are logged with their cause
        // where they happen, and `/metrics` counts everything.
        tracing::debug!(target: "access", parent: &span, status, "request finished");
    }
}
