//! Bad input never yields a 500 or a non-JSON body.

use crate::helpers::*;
use contracts::Role;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn unknown_routes_answer_404_with_the_error_body() {
    let app = spawn_app().await;
    // Paths outside the API's are the web app's (see webapp.rs).
    app.get_root("/api/nope").fails(404, "not_found").await;
    app.get("/nope").fails(404, "not_found").await;
}

#[tokio::test]
async fn wrong_methods_answer_405_with_the_error_body() {
    let app = spawn_app().await;
    app.request(Method::DELETE, "/wallet").fails(405, "method_not_allowed").await;
    app.request(Method::PUT, "/auth/login").fails(405, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_refused_with_invalid_json() {
    let app = spawn_app().await;
    app.request(Method::POST, "/auth/login")
        .header("content-type", "application/json")
        .raw_body("{\"email\": ")
        .fails(400, "invalid_json")
        .await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_name_the_field() {
    let app = spawn_app().await;
    let body = app.post("/auth/signup", &json!({"email": 5})).fails(400, "validation_failed").await;
    assert!(body.field("email").is_some(), "{body:?}");
    let body = app.post("/auth/login", &json!({"email": "a@b.co"})).fails(400, "validation_failed").await;
    assert_eq!(body.field("password"), Some("is required"));
    let body = app.post("/auth/login", &json!([1, 2])).fails(400, "validation_failed").await;
    assert!(body.error.details.fields.is_some());
}

#[tokio::test]
async fn json_arrays_are_not_taken_for_objects() {
    // Found by the contract fuzzer: `[null, null]` was read positionally as an update.
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let body = user.patch("/accounts/me", &json!([null, null])).fails(400, "validation_failed").await;
    assert_eq!(body.field("body"), Some("must be a JSON object"));
    user.post("/wallet/charges", &json!([1000])).idempotency_key("array-body").fails(400, "validation_failed").await;
    assert_eq!(user.balance().await, 0);
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_with_413() {
    let app = spawn_app().await;
    let big = "x".repeat(70 * 1024);
    app.post("/auth/login", &json!({"email": big, "password": "p"})).fails(413, "payload_too_large").await;
}

#[tokio::test]
async fn non_json_bodies_are_refused_with_415() {
    let app = spawn_app().await;
    app.request(Method::POST, "/auth/login")
        .header("content-type", "text/plain")
        .raw_body("email=a")
        .fails(415, "unsupported_media_type")
        .await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_a_crash() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    app.request(Method::POST, "/auth/login")
        .header("content-type", "application/json")
        .raw_body(deep)
        .fails(400, "invalid_json")
        .await;
}

#[tokio::test]
async fn non_integer_path_ids_are_404() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    user.get("/accounts/abc").fails(404, "not_found").await;
    user.get("/wallet/charges/1.5").fails(404, "not_found").await;
}

#[tokio::test]
async fn bad_query_parameters_are_refused_with_validation_failed() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    for path in [
        "/accounts?page=-1",
        "/accounts?size=0",
        "/accounts?size=101",
        "/accounts?page=abc",
        "/accounts?role=wizard",
        "/wallet/entries?limit=0",
        "/wallet/entries?before=x",
    ] {
        user.get(path).fails(400, "validation_failed").await;
    }
    // An unknown status filter names the statuses there are (from the enum, not a copy).
    let admin = app.admin().await;
    for (path, choices) in [
        ("/admin/charges?status=lost", "must be pending, confirmed or failed"),
        ("/admin/payouts?status=lost", "must be requested, processing, paid or failed"),
    ] {
        let err = admin.get(path).fails(400, "validation_failed").await;
        let fields = err.error.details.fields.unwrap_or_default();
        assert_eq!(fields.get("status").map(String::as_str), Some(choices), "{path}");
    }
}

#[tokio::test]
async fn protected_routes_need_a_valid_token() {
    let app = spawn_app().await;
    app.get("/wallet").fails(401, "unauthenticated").await;
    app.with_token("not.a.jwt").get("/wallet").fails(401, "unauthenticated").await;
    app.get("/accounts/me").header("Authorization", "Basic abc").fails(401, "unauthenticated").await;
}
