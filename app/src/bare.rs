//! The bench's baselines (`app --bare-bind ADDR`): a second, minimal HTTP server in the same
//! process, with none of the app's middleware, so the bench can read the app's ratios
//! against what this machine does at best:
//! - `GET /bare/jwt`: verifies the bearer token with the app's own verifier, answers JSON;
//! - `GET /bare/redis`: one GET through the app's cache (Redis when configured).
//!
//! Never mounted by default; it serves nothing of the API.

use crate::Modules;
use actix_web::dev::Server;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;

async fn jwt(req: HttpRequest, assembled: web::Data<Modules>) -> HttpResponse {
    let token = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match token.map(|t| assembled.jwt.verify(t)) {
        Some(Ok(user)) => HttpResponse::Ok().json(serde_json::json!({ "account_id": user.account_id })),
        _ => HttpResponse::Unauthorized().json(serde_json::json!({ "code": "unauthenticated" })),
    }
}

async fn redis(assembled: web::Data<Modules>) -> HttpResponse {
    match assembled.cache.get("bare:key").await {
        Ok(value) => HttpResponse::Ok().json(serde_json::json!({ "value": value })),
        Err(e) => HttpResponse::ServiceUnavailable().json(serde_json::json!({ "error": e.to_string() })),
    }
}

/// The baseline server on `listener`, with one worker (the bench pins the process to a core).
pub fn server(assembled: Arc<Modules>, listener: TcpListener) -> anyhow::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::from(assembled.clone()))
            .route("/bare/jwt", web::get().to(jwt))
            .route("/bare/redis", web::get().to(redis))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
