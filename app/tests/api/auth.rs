//! Signup, verification, login, tokens, password flows, profiles and search.

use crate::helpers::*;
use chrono::Duration;
use contracts::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn signup_returns_the_account_and_emails_a_verification_token() {
    let app = spawn_app().await;
    let res = app.signup("  New.User@Example.COM ", "password1", "  Kim  ", "seller").await;
    let body = json_of(res, 201).await;
    assert_eq!(body["email"], "new.user@example.com");
    assert_eq!(body["name"], "Kim");
    assert_eq!(body["role"], "seller");
    assert_eq!(body["email_verified"], false);
    assert!(body["id"].is_i64());
    assert!(body.get("password_hash").is_none());
    let (text, token) = app.wait_for_email("new.user@example.com", |_| true).await;
    assert!(text.contains("verify-email"), "{text}");
    assert!(token.len() >= 40);
    assert_eq!(app.emails_to("new.user@example.com").len(), 1, "one email, sent once");
}

#[tokio::test]
async fn signup_validates_every_field_at_once() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/auth/signup",
            None,
            &json!({"email": "nope", "password": "short", "name": "", "role": "admin", "phone": "12"}),
        )
        .await;
    let body = assert_error(res, 400, "validation_failed").await;
    let fields = &body["error"]["details"]["fields"];
    for field in ["email", "password", "name", "role", "phone"] {
        assert!(fields[field].is_string(), "{field}: {body}");
    }
}

#[tokio::test]
async fn duplicate_emails_are_409_email_taken_case_insensitively() {
    let app = spawn_app().await;
    json_of(app.signup("dup@example.com", "password1", "A", "customer").await, 201).await;
    assert_error(app.signup("DUP@example.com", "password2", "B", "seller").await, 409, "email_taken").await;
}

#[tokio::test]
async fn verification_tokens_work_once_by_link_or_post() {
    let app = spawn_app().await;
    json_of(app.signup("v@example.com", "password1", "V", "customer").await, 201).await;
    let token = app.email_token("v@example.com").await;
    let body = json_of(app.get(&format!("/api/v1/auth/verify-email?token={token}"), None).await, 200).await;
    assert_eq!(body["email_verified"], true);
    assert_error(app.post("/api/v1/auth/verify-email", None, &json!({"token": token})).await, 400, "invalid_token")
        .await;
    assert_error(app.post("/api/v1/auth/verify-email", None, &json!({"token": "made-up"})).await, 400, "invalid_token")
        .await;
}

#[tokio::test]
async fn verification_tokens_expire_after_24_hours() {
    let app = spawn_app().await;
    json_of(app.signup("late@example.com", "password1", "L", "customer").await, 201).await;
    let token = app.email_token("late@example.com").await;
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    assert_error(app.post("/api/v1/auth/verify-email", None, &json!({"token": token})).await, 400, "invalid_token")
        .await;
}

#[tokio::test]
async fn resend_verification_is_202_for_anyone_and_sends_a_new_token() {
    let app = spawn_app().await;
    json_of(app.signup("again@example.com", "password1", "A", "customer").await, 201).await;
    let first = app.email_token("again@example.com").await;
    let res = app.post("/api/v1/auth/resend-verification", None, &json!({"email": "again@example.com"})).await;
    assert_eq!(res.status(), 202);
    let (_, second) = app.wait_for_email("again@example.com", |t| !t.contains(&first)).await;
    assert_ne!(first, second);
    json_of(app.post("/api/v1/auth/verify-email", None, &json!({"token": second})).await, 200).await;
    // Unknown and malformed addresses get the same answer: no account enumeration.
    for email in ["nobody@example.com", "not-an-email"] {
        let res = app.post("/api/v1/auth/resend-verification", None, &json!({"email": email})).await;
        assert_eq!(res.status(), 202);
    }
}

#[tokio::test]
async fn login_requires_a_verified_email() {
    let app = spawn_app().await;
    json_of(app.signup("unverified@example.com", "password1", "U", "customer").await, 201).await;
    assert_error(app.login("unverified@example.com", "password1").await, 403, "email_not_verified").await;
    // A wrong password stays 401, so the 403 reveals nothing without the password.
    assert_error(app.login("unverified@example.com", "wrong-password").await, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn login_returns_a_token_pair_and_the_account() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let body = json_of(app.login(&user.email, &user.password).await, 200).await;
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 40);
    assert_eq!(body["account"]["id"], user.id);
    let me = json_of(app.get("/api/v1/accounts/me", Some(body["access_token"].as_str().unwrap())).await, 200).await;
    assert_eq!(me["email"], user.email);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let a = assert_error(app.login(&user.email, "wrong password").await, 401, "invalid_credentials").await;
    let b = assert_error(app.login("ghost@example.com", "wrong password").await, 401, "invalid_credentials").await;
    assert_eq!(a, b);
    // Both paths verify an argon2 hash: their timings are of the same order.
    let time = |email: String| {
        let app = &app;
        async move {
            let start = std::time::Instant::now();
            for _ in 0..3 {
                app.login(&email, "wrong password").await;
            }
            start.elapsed()
        }
    };
    let known = time(user.email.clone()).await;
    let unknown = time("ghost2@example.com".into()).await;
    let ratio = known.as_secs_f64() / unknown.as_secs_f64();
    assert!((0.25..4.0).contains(&ratio), "known {known:?} vs unknown {unknown:?}");
}

#[tokio::test]
async fn repeated_login_failures_lock_the_account_with_retry_after() {
    let app = spawn_app_with(TestOptions::default().with("auth.login_max_failures", 3)).await;
    let user = app.user(Role::Customer).await;
    for _ in 0..3 {
        assert_error(app.login(&user.email, "wrong password").await, 401, "invalid_credentials").await;
    }
    let res = app.login(&user.email, &user.password).await;
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 900);
    assert_error(res, 429, "rate_limited").await;
    // Other accounts are not affected.
    let other = app.user(Role::Seller).await;
    json_of(app.login(&other.email, &other.password).await, 200).await;
}

#[tokio::test]
async fn auth_routes_are_rate_limited_per_ip() {
    let app =
        spawn_app_with(TestOptions::default().with("rate_limit.auth_per_second", 1).with("rate_limit.auth_burst", 3))
            .await;
    let mut limited = None;
    for _ in 0..6 {
        let res = app.post("/api/v1/auth/resend-verification", None, &json!({"email": "x@example.com"})).await;
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("never rate limited");
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, 429, "rate_limited").await;
    // Non-auth routes are not limited by it.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let first = user.refresh_token.clone();
    let body = json_of(app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first})).await, 200).await;
    let second = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    json_of(app.get("/api/v1/accounts/me", Some(body["access_token"].as_str().unwrap())).await, 200).await;
    // The old one was rotated: presenting it again is reuse, and kills the whole session…
    assert_error(app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": first})).await, 401, "invalid_token")
        .await;
    // …including the newest token.
    assert_error(app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": second})).await, 401, "invalid_token")
        .await;
    // Another login is a separate session and still works.
    let again = app.login_user(&user.email, &user.password).await;
    json_of(app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": again.refresh_token})).await, 200).await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_yield_one_new_pair() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let body = json!({"refresh_token": user.refresh_token});
    let tries = (0..5).map(|_| app.post("/api/v1/auth/refresh", None, &body));
    let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().filter(|s| **s == 200).count() <= 1, "{statuses:?}");
}

#[tokio::test]
async fn expired_refresh_tokens_are_token_expired() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    app.clock.advance(Duration::days(31));
    assert_error(
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": user.refresh_token})).await,
        401,
        "token_expired",
    )
    .await;
}

#[tokio::test]
async fn logout_ends_the_session_and_needs_no_access_token() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let res = app.post("/api/v1/auth/logout", None, &json!({"refresh_token": user.refresh_token})).await;
    assert_eq!(res.status(), 204);
    assert_error(
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": user.refresh_token})).await,
        401,
        "invalid_token",
    )
    .await;
    let res = app.post("/api/v1/auth/logout", None, &json!({"refresh_token": "unknown"})).await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn access_tokens_expire_and_tampered_ones_fail() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let mut parts: Vec<String> = user.token.split('.').map(String::from).collect();
    parts[2] = parts[2].chars().rev().collect();
    assert_error(app.get("/api/v1/accounts/me", Some(&parts.join("."))).await, 401, "unauthenticated").await;
    app.clock.advance(Duration::minutes(16));
    assert_error(app.get("/api/v1/accounts/me", Some(&user.token)).await, 401, "token_expired").await;
}

#[tokio::test]
async fn password_reset_sets_a_new_password_once_and_ends_sessions() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let res = app.post("/api/v1/auth/password-reset", None, &json!({"email": user.email})).await;
    assert_eq!(res.status(), 202);
    let (_, token) = app.wait_for_email(&user.email, |t| t.contains("Reset your password")).await;
    let res =
        app.post("/api/v1/auth/password-reset/confirm", None, &json!({"token": token, "new_password": "short"})).await;
    assert_error(res, 400, "validation_failed").await;
    let res = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": "brand new password"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .post("/api/v1/auth/password-reset/confirm", None, &json!({"token": token, "new_password": "another one!"}))
        .await;
    assert_error(res, 400, "invalid_token").await;
    assert_error(app.login(&user.email, &user.password).await, 401, "invalid_credentials").await;
    json_of(app.login(&user.email, "brand new password").await, 200).await;
    assert_error(
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": user.refresh_token})).await,
        401,
        "invalid_token",
    )
    .await;
    let res = app.post("/api/v1/auth/password-reset", None, &json!({"email": "nobody@example.com"})).await;
    assert_eq!(res.status(), 202);
}

#[tokio::test]
async fn reset_tokens_expire_after_an_hour() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    app.post("/api/v1/auth/password-reset", None, &json!({"email": user.email})).await;
    let (_, token) = app.wait_for_email(&user.email, |t| t.contains("Reset your password")).await;
    app.clock.advance(Duration::minutes(61));
    let res = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": "brand new password"}),
        )
        .await;
    assert_error(res, 400, "invalid_token").await;
}

#[tokio::test]
async fn profile_can_be_updated_partially() {
    let app = spawn_app().await;
    let user = app.user(Role::Seller).await;
    let t = Some(user.token.as_str());
    let body = json_of(app.patch("/api/v1/accounts/me", t, &json!({"phone": "+82 10-1234-5678"})).await, 200).await;
    assert_eq!(body["phone"], "+821012345678");
    let body = json_of(app.patch("/api/v1/accounts/me", t, &json!({"name": "Renamed"})).await, 200).await;
    assert_eq!((body["name"].as_str(), body["phone"].as_str()), (Some("Renamed"), Some("+821012345678")));
    let body = json_of(app.patch("/api/v1/accounts/me", t, &json!({"phone": null})).await, 200).await;
    assert_eq!(body["phone"], Value::Null);
    assert_error(app.patch("/api/v1/accounts/me", t, &json!({"name": ""})).await, 400, "validation_failed").await;
    assert_error(app.patch("/api/v1/accounts/me", t, &json!({"phone": "abc"})).await, 400, "validation_failed").await;
}

#[tokio::test]
async fn changing_the_password_checks_the_current_one_and_revokes_sessions() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let t = Some(user.token.as_str());
    let res = app
        .post(
            "/api/v1/accounts/me/password",
            t,
            &json!({"current_password": "nope nope", "new_password": "new password 1"}),
        )
        .await;
    assert_error(res, 400, "validation_failed").await;
    let res = app
        .post(
            "/api/v1/accounts/me/password",
            t,
            &json!({"current_password": user.password, "new_password": "new password 1"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_error(
        app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": user.refresh_token})).await,
        401,
        "invalid_token",
    )
    .await;
    json_of(app.login(&user.email, "new password 1").await, 200).await;
}

#[tokio::test]
async fn public_profiles_show_no_private_fields() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let viewer = app.user(Role::Customer).await;
    let body = json_of(app.get(&format!("/api/v1/accounts/{}", seller.id), Some(&viewer.token)).await, 200).await;
    assert_eq!(body, json!({"id": seller.id, "name": "Test seller", "role": "seller"}));
    assert_error(app.get("/api/v1/accounts/999999", Some(&viewer.token)).await, 404, "not_found").await;
    assert_error(app.get(&format!("/api/v1/accounts/{}", seller.id), None).await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn search_matches_names_case_insensitively_never_emails() {
    let app = spawn_app().await;
    let viewer = app.user(Role::Customer).await;
    for (email, name, role) in [
        ("k1@example.com", "Kim Minsu", "seller"),
        ("k2@example.com", "kimchi lover", "customer"),
        ("zzz-kim@example.com", "Lee", "customer"),
        ("s@example.com", "김철수", "streamer"),
        ("p@example.com", "100% Pure_Kim", "seller"),
    ] {
        json_of(app.signup(email, "password1", name, role).await, 201).await;
    }
    let t = Some(viewer.token.as_str());
    let body = json_of(app.get("/api/v1/accounts?q=KIM", t).await, 200).await;
    let names: Vec<&str> = body["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["100% Pure_Kim", "kimchi lover", "Kim Minsu"], "newest first, never by email");
    assert_eq!(body["total"], 3);
    assert!(body["items"][0].get("email").is_none());
    let body = json_of(app.get("/api/v1/accounts?q=kim&role=seller&size=1", t).await, 200).await;
    assert_eq!(
        (body["total"].as_i64(), body["size"].as_i64(), body["items"].as_array().unwrap().len()),
        (Some(2), Some(1), 1)
    );
    let body = json_of(app.get("/api/v1/accounts?q=%25", t).await, 200).await;
    assert_eq!(body["total"], 1, "% is matched literally");
    let body = json_of(app.get(&format!("/api/v1/accounts?q={}", urlencode("철수")), t).await, 200).await;
    assert_eq!(body["items"][0]["name"], "김철수");
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn admins_come_only_from_the_cli_and_stay_out_of_plain_search() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    assert_eq!(admin.account.role, Role::Admin);
    assert!(admin.account.email_verified);
    let viewer = app.user(Role::Customer).await;
    let body = json_of(app.get("/api/v1/accounts?q=admin", Some(&viewer.token)).await, 200).await;
    assert_eq!(body["total"], 0);
    let body = json_of(app.get("/api/v1/accounts?role=admin", Some(&viewer.token)).await, 200).await;
    assert_eq!(body["total"], 1);
}
