//! Operational endpoints: liveness, readiness, metrics; and CORS.

use crate::Lifecycle;
use crate::wire::Modules;
use actix_cors::Cors;
use actix_web::{HttpResponse, web};
use platform::error::ErrorDetail;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)))
        .service(web::resource("/metrics").route(web::get().to(metrics)));
}

/// `{"status": "ok"}`
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    status: String,
}

/// `{"status": "ready", "checks": {"database": "ok", "cache": "ok" | "degraded", ...}}`
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    status: String,
    checks: BTreeMap<String, String>,
}

/// The readiness body with the API's error object (503).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Unready {
    status: String,
    checks: BTreeMap<String, String>,
    error: ErrorDetail,
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process runs", body = Health)))]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into() })
}

/// 200 while every database answers (a cache outage only degrades); 503 naming the
/// failing check otherwise, and while shutting down so the load balancer drains us.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Every database answers; a cache outage only degrades", body = Readiness),
        (status = 503, description = "A database is unreachable, or the instance is shutting down", body = Unready)))]
pub(crate) async fn readyz(assembled: web::Data<Modules>, lifecycle: web::Data<Lifecycle>) -> HttpResponse {
    if lifecycle.is_shutting_down() {
        return unavailable("shutting_down", BTreeMap::new(), "The instance is shutting down.");
    }
    let mut checks = BTreeMap::new();
    let mut database_ok = true;
    for module in &assembled.databases {
        let ok = matches!(tokio::time::timeout(Duration::from_secs(2), module.db.ping()).await, Ok(Ok(())));
        database_ok &= ok;
        checks.insert(format!("database_{}", module.module), if ok { "ok" } else { "unavailable" }.to_string());
    }
    checks.insert("database".into(), if database_ok { "ok" } else { "unavailable" }.to_string());
    let cache_ok = matches!(tokio::time::timeout(Duration::from_secs(1), assembled.cache.ping()).await, Ok(Ok(())));
    checks.insert("cache".into(), if cache_ok { "ok" } else { "degraded" }.to_string());
    if database_ok {
        HttpResponse::Ok().json(Readiness { status: "ready".into(), checks })
    } else {
        unavailable("unavailable", checks, "A database is unreachable.")
    }
}

/// The readiness body plus docs/api.md's error object, so both kinds of client understand it.
fn unavailable(status: &str, checks: BTreeMap<String, String>, message: &str) -> HttpResponse {
    let error = ErrorDetail {
        code: "unavailable".into(),
        message: message.into(),
        details: json!({ "checks": checks.clone() }),
    };
    let body = Unready { status: status.into(), checks, error };
    HttpResponse::ServiceUnavailable().insert_header(("Retry-After", "5")).json(body)
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub(crate) async fn metrics(assembled: web::Data<Modules>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::observability::render(&assembled).await)
}

/// No origins: no CORS headers (browsers refuse cross-origin calls); `*`: any origin.
pub fn cors(origins: &[String]) -> Cors {
    let base = Cors::default()
        .allow_any_method()
        .allow_any_header()
        .expose_headers(["X-Request-Id", "Retry-After"])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return base.allow_any_origin();
    }
    origins.iter().fold(base, |cors, origin| cors.allowed_origin(origin))
}
