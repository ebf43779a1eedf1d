//! Operational endpoints: liveness, readiness, metrics; and CORS.

use crate::Lifecycle;
use crate::wire::Assembled;
use actix_cors::Cors;
use actix_web::{HttpResponse, web};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

pub fn operations(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)))
        .service(web::resource("/metrics").route(web::get().to(metrics)));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// 200 while every database answers (a cache outage only degrades); 503 naming the
/// failing check otherwise, and while shutting down so the load balancer drains us.
async fn readyz(assembled: web::Data<Assembled>, lifecycle: web::Data<Lifecycle>) -> HttpResponse {
    if lifecycle.is_shutting_down() {
        return unavailable(json!({ "status": "shutting_down", "checks": {} }), "The instance is shutting down.");
    }
    let mut checks = BTreeMap::new();
    let mut database_ok = true;
    for module in &assembled.databases {
        let ok = matches!(tokio::time::timeout(Duration::from_secs(2), module.db.ping()).await, Ok(Ok(())));
        database_ok &= ok;
        checks.insert(format!("database_{}", module.module), if ok { "ok" } else { "unavailable" });
    }
    checks.insert("database".into(), if database_ok { "ok" } else { "unavailable" });
    let cache_ok = matches!(tokio::time::timeout(Duration::from_secs(1), assembled.cache.ping()).await, Ok(Ok(())));
    checks.insert("cache".into(), if cache_ok { "ok" } else { "degraded" });
    if database_ok {
        HttpResponse::Ok().json(json!({ "status": "ready", "checks": checks }))
    } else {
        unavailable(json!({ "status": "unavailable", "checks": checks }), "A database is unreachable.")
    }
}

/// The readiness body plus API.md's error object, so both kinds of client understand it.
fn unavailable(mut body: serde_json::Value, message: &str) -> HttpResponse {
    body["error"] =
        json!({ "code": "unavailable", "message": message, "details": { "checks": body["checks"].clone() } });
    HttpResponse::ServiceUnavailable().insert_header(("Retry-After", "5")).json(body)
}

async fn metrics(assembled: web::Data<Assembled>) -> HttpResponse {
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
