//! Bad input never yields a 500 or a non-JSON body.

use crate::helpers::*;
use contracts::Role;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn unknown_routes_answer_404_with_the_error_body() {
    let app = spawn_app().await;
    // Paths outside the API's are the web app's (see webapp.rs).
    assert_error(app.get("/api/nope", None).await, 404, "not_found").await;
    assert_error(app.get("/api/v1/nope", None).await, 404, "not_found").await;
}

#[tokio::test]
async fn wrong_methods_answer_405_with_the_error_body() {
    let app = spawn_app().await;
    let res = app.request(Method::DELETE, "/api/v1/wallet").send().await.unwrap();
    assert_error(res, 405, "method_not_allowed").await;
    let res = app.request(Method::PUT, "/api/v1/auth/login").send().await.unwrap();
    assert_error(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_invalid_json() {
    let app = spawn_app().await;
    let res = app
        .request(Method::POST, "/api/v1/auth/login")
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid_json").await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_name_the_field() {
    let app = spawn_app().await;
    let body =
        assert_error(app.post("/api/v1/auth/signup", None, &json!({"email": 5})).await, 400, "validation_failed").await;
    assert!(body["error"]["details"]["fields"]["email"].is_string(), "{body}");
    let body =
        assert_error(app.post("/api/v1/auth/login", None, &json!({"email": "a@b.co"})).await, 400, "validation_failed")
            .await;
    assert_eq!(body["error"]["details"]["fields"]["password"], "is required");
    let body = assert_error(app.post("/api/v1/auth/login", None, &json!([1, 2])).await, 400, "validation_failed").await;
    assert!(body["error"]["details"]["fields"].is_object());
}

#[tokio::test]
async fn json_arrays_are_not_taken_for_objects() {
    // Found by the contract fuzzer: `[null, null]` was read positionally as an update.
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let res = app.patch("/api/v1/accounts/me", Some(&user.token), &json!([null, null])).await;
    let body = assert_error(res, 400, "validation_failed").await;
    assert_eq!(body["error"]["details"]["fields"]["body"], "must be a JSON object");
    let res = app.post_keyed("/api/v1/wallet/charges", &user.token, "array-body", &json!([1000])).await;
    assert_error(res, 400, "validation_failed").await;
    assert_eq!(app.balance(&user).await, 0);
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_with_413() {
    let app = spawn_app().await;
    let big = "x".repeat(70 * 1024);
    let res = app.post("/api/v1/auth/login", None, &json!({"email": big, "password": "p"})).await;
    assert_error(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn non_json_bodies_are_refused_with_415() {
    let app = spawn_app().await;
    let res = app
        .request(Method::POST, "/api/v1/auth/login")
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_a_crash() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let res = app
        .request(Method::POST, "/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid_json").await;
}

#[tokio::test]
async fn non_integer_path_ids_are_404() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    assert_error(app.get("/api/v1/accounts/abc", Some(&user.token)).await, 404, "not_found").await;
    assert_error(app.get("/api/v1/wallet/charges/1.5", Some(&user.token)).await, 404, "not_found").await;
}

#[tokio::test]
async fn bad_query_parameters_are_validation_failed() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    for path in [
        "/api/v1/accounts?page=-1",
        "/api/v1/accounts?size=0",
        "/api/v1/accounts?size=101",
        "/api/v1/accounts?page=abc",
        "/api/v1/accounts?role=wizard",
        "/api/v1/wallet/entries?limit=0",
        "/api/v1/wallet/entries?before=x",
    ] {
        assert_error(app.get(path, Some(&user.token)).await, 400, "validation_failed").await;
    }
}

#[tokio::test]
async fn protected_routes_need_a_valid_token() {
    let app = spawn_app().await;
    assert_error(app.get("/api/v1/wallet", None).await, 401, "unauthenticated").await;
    assert_error(app.get("/api/v1/wallet", Some("not.a.jwt")).await, 401, "unauthenticated").await;
    let res =
        app.request(Method::GET, "/api/v1/accounts/me").header("Authorization", "Basic abc").send().await.unwrap();
    assert_error(res, 401, "unauthenticated").await;
}
