//! Health, readiness, metrics, OpenAPI, request ids, graceful shutdown signals.

use crate::helpers::*;
use contracts::Role;
use serde_json::Value;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let health: Health = app.get_root("/healthz").returns(200).await;
    assert_eq!(health.status, "ok");
}

#[tokio::test]
async fn readyz_reports_database_and_cache() {
    let app = spawn_app().await;
    let ready: Readiness = app.get_root("/readyz").returns(200).await;
    assert_eq!(ready.status, "ready");
    assert_eq!(ready.checks["database"], "ok");
    assert_eq!(ready.checks["cache"], "ok");
}

#[tokio::test]
async fn readyz_fails_while_shutting_down() {
    let app = spawn_app().await;
    // The lifecycle flag is what SIGTERM sets; the handle-based spawn shares the same app data.
    let res = app.get_root("/readyz").await;
    assert_eq!(res.status(), 200);
    let lifecycle = app.lifecycle();
    lifecycle.begin_shutdown();
    let body = app.get_root("/readyz").fails(503, "unavailable").await;
    assert_eq!(body.extra["status"], "shutting_down");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_clients() {
    let app = spawn_app().await;
    let res = app.get_root("/healthz").await;
    assert!(!res.header("x-request-id").unwrap().is_empty());
    let res = app.get_root("/nope").header("X-Request-Id", "trace-me-123").await;
    assert_eq!(res.header("x-request-id"), Some("trace-me-123"));
}

#[tokio::test]
async fn metrics_expose_http_and_pool_series() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    user.get("/wallet").await;
    let text = app.get_root("/metrics").await.text().await;
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/wallet\""), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("db_pool_connections"), "{text}");
    assert!(text.contains("outbox_backlog"), "{text}");
}

#[tokio::test]
async fn latency_samples_are_drained_without_a_scrape_and_still_counted() {
    // Nobody scrapes this instance: its workers must drain the recorder by themselves
    // (otherwise every request's sample stays in memory until a scrape).
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    user.get("/wallet").await;
    let upkeeps = || app.assembled.metrics_upkeeps.load(std::sync::atomic::Ordering::Relaxed);
    let before = upkeeps();
    let drained = platform::testkit::eventually(std::time::Duration::from_secs(10), || async {
        (upkeeps() > before).then_some(())
    })
    .await;
    assert!(drained.is_some(), "the metrics upkeep never ran");
    // Drained samples are folded into the histograms, not lost.
    let text = app.get_root("/metrics").await.text().await;
    let count = text
        .lines()
        .find(|l| l.starts_with("http_request_duration_seconds_count") && l.contains("route=\"/api/v1/wallet\""));
    assert!(count.is_some_and(|l| !l.ends_with(" 0")), "{text}");
}

#[tokio::test]
async fn openapi_document_lists_the_routes_and_swagger_is_served() {
    let app = spawn_app().await;
    let doc: Value = app.get_root("/api-docs/openapi.json").returns(200).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/wallet",
        "/api/v1/wallet/charges",
        "/api/v1/accounts/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let res = app.get_root("/swagger-ui/").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.contains("swagger"));
}

#[tokio::test]
async fn each_module_uses_its_own_pool_and_the_account_database_can_live_apart() {
    use diesel::prelude::*;
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    user.charge(10).await;
    let account_db = app.assembled.database("account").unwrap().clone();
    let payment_db = app.assembled.database("payment").unwrap().clone();
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |db: platform::db::Db, table: &'static str| async move {
        db.run(move |c| {
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                .get_result::<N>(c)
                .map(|r| r.n)
                .map_err(platform::db::DbError::from)
        })
        .await
        .unwrap()
    };
    assert_eq!(count(account_db.clone(), "accounts").await, 1);
    assert_eq!(count(payment_db.clone(), "charges").await, 1);
    if std::env::var("TEST_SPLIT_ACCOUNT_DB").is_ok_and(|v| v == "1") {
        assert_ne!(account_db.target(), payment_db.target());
        // The payment database has the (template's) account tables, but no account data.
        assert_eq!(count(payment_db, "accounts").await, 0);
        assert_eq!(count(account_db, "charges").await, 0);
    }
}
