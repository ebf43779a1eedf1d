//! Signup, verification, login, tokens, password flows, profiles and search.

use crate::helpers::*;
use chrono::Duration;
use contracts::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn signup_returns_the_account_and_emails_a_verification_token() {
    let app = spawn_app().await;
    let raw: Value = app.signup("  New.User@Example.COM ", "password1", "  Kim  ", "seller").returns(201).await;
    let account: Account = parse(&raw);
    assert_eq!(account.email, "new.user@example.com");
    assert_eq!(account.name, "Kim");
    assert_eq!(account.role, "seller");
    assert!(!account.email_verified);
    assert!(raw["id"].is_i64());
    assert!(raw.get("password_hash").is_none());
    let email = app.wait_for_email("new.user@example.com", |_| true).await;
    assert!(email.text.contains("verify-email"), "{}", email.text);
    assert!(email.token.len() >= 40);
    assert_eq!(app.emails_to("new.user@example.com").len(), 1, "one email, sent once");
}

#[tokio::test]
async fn signup_validates_every_field_at_once() {
    let app = spawn_app().await;
    let body = app
        .post(
            "/auth/signup",
            &json!({"email": "nope", "password": "short", "name": "", "role": "admin", "phone": "12"}),
        )
        .fails(400, "validation_failed")
        .await;
    for field in ["email", "password", "name", "role", "phone"] {
        assert!(body.field(field).is_some(), "{field}: {body:?}");
    }
}

#[tokio::test]
async fn duplicate_emails_are_409_email_taken_case_insensitively() {
    let app = spawn_app().await;
    app.signup("dup@example.com", "password1", "A", "customer").returns::<Account>(201).await;
    app.signup("DUP@example.com", "password2", "B", "seller").fails(409, "email_taken").await;
}

#[tokio::test]
async fn verification_tokens_work_once_by_link_or_post() {
    let app = spawn_app().await;
    app.signup("v@example.com", "password1", "V", "customer").returns::<Account>(201).await;
    let token = app.email_token("v@example.com").await;
    let account: Account = app.get(&format!("/auth/verify-email?token={token}")).returns(200).await;
    assert!(account.email_verified);
    app.post("/auth/verify-email", &json!({"token": token})).fails(400, "invalid_token").await;
    app.post("/auth/verify-email", &json!({"token": "made-up"})).fails(400, "invalid_token").await;
}

#[tokio::test]
async fn verification_tokens_expire_after_24_hours() {
    let app = spawn_app().await;
    app.signup("late@example.com", "password1", "L", "customer").returns::<Account>(201).await;
    let token = app.email_token("late@example.com").await;
    app.clock.advance(Duration::hours(24) + Duration::minutes(1));
    app.post("/auth/verify-email", &json!({"token": token})).fails(400, "invalid_token").await;
}

#[tokio::test]
async fn resend_verification_is_202_for_anyone_and_sends_a_new_token() {
    let app = spawn_app().await;
    app.signup("again@example.com", "password1", "A", "customer").returns::<Account>(201).await;
    let first = app.email_token("again@example.com").await;
    let res = app.post("/auth/resend-verification", &json!({"email": "again@example.com"})).await;
    assert_eq!(res.status(), 202);
    let second = app.wait_for_email("again@example.com", |t| !t.contains(&first)).await.token;
    assert_ne!(first, second);
    app.post("/auth/verify-email", &json!({"token": second})).returns::<Account>(200).await;
    // Unknown and malformed addresses get the same answer: no account enumeration.
    for email in ["nobody@example.com", "not-an-email"] {
        let res = app.post("/auth/resend-verification", &json!({"email": email})).await;
        assert_eq!(res.status(), 202);
    }
}

#[tokio::test]
async fn login_requires_a_verified_email() {
    let app = spawn_app().await;
    app.signup("unverified@example.com", "password1", "U", "customer").returns::<Account>(201).await;
    app.login("unverified@example.com", "password1").fails(403, "email_not_verified").await;
    // A wrong password stays 401, so the 403 reveals nothing without the password.
    app.login("unverified@example.com", "wrong-password").fails(401, "invalid_credentials").await;
}

#[tokio::test]
async fn login_returns_a_token_pair_and_the_account() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let session: Session = app.login(&user.email, &user.password).returns(200).await;
    assert_eq!(session.token_type, "Bearer");
    assert!(session.expires_in > 0);
    assert!(session.refresh_token.len() >= 40);
    assert_eq!(session.account.id, user.id);
    let me: Account = app.with_token(&session.access_token).get("/accounts/me").returns(200).await;
    assert_eq!(me.email, user.email);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let a = app.login(&user.email, "wrong password").fails(401, "invalid_credentials").await;
    let b = app.login("ghost@example.com", "wrong password").fails(401, "invalid_credentials").await;
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
        app.login(&user.email, "wrong password").fails(401, "invalid_credentials").await;
    }
    let res = app.login(&user.email, &user.password).await;
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 900);
    res.fails(429, "rate_limited").await;
    // Other accounts are not affected.
    let other = app.user(Role::Seller).await;
    app.login(&other.email, &other.password).returns::<Session>(200).await;
}

#[tokio::test]
async fn auth_routes_are_rate_limited_per_ip() {
    let app =
        spawn_app_with(TestOptions::default().with("rate_limit.auth_per_second", 1).with("rate_limit.auth_burst", 3))
            .await;
    let mut limited = None;
    for _ in 0..6 {
        let res = app.post("/auth/resend-verification", &json!({"email": "x@example.com"})).await;
        if res.status() == 429 {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("never rate limited");
    assert!(res.header("retry-after").is_some());
    res.fails(429, "rate_limited").await;
    // Non-auth routes are not limited by it.
    assert_eq!(app.get_root("/healthz").await.status(), 200);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let first = user.refresh_token.clone();
    let session: Session = app.post("/auth/refresh", &json!({"refresh_token": first})).returns(200).await;
    let second = session.refresh_token.clone();
    assert_ne!(first, second);
    app.with_token(&session.access_token).get("/accounts/me").returns::<Account>(200).await;
    // The old one was rotated: presenting it again is reuse, and kills the whole session…
    app.post("/auth/refresh", &json!({"refresh_token": first})).fails(401, "invalid_token").await;
    // …including the newest token.
    app.post("/auth/refresh", &json!({"refresh_token": second})).fails(401, "invalid_token").await;
    // Another login is a separate session and still works.
    let again = app.login_user(&user.email, &user.password).await;
    app.post("/auth/refresh", &json!({"refresh_token": again.refresh_token})).returns::<Session>(200).await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_yield_one_new_pair() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let body = json!({"refresh_token": user.refresh_token});
    let tries = (0..5).map(|_| app.post("/auth/refresh", &body).send());
    let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(Reply::status).collect();
    assert!(statuses.iter().filter(|s| **s == 200).count() <= 1, "{statuses:?}");
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused_with_token_expired() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    app.clock.advance(Duration::days(31));
    app.post("/auth/refresh", &json!({"refresh_token": user.refresh_token})).fails(401, "token_expired").await;
}

#[tokio::test]
async fn logout_ends_the_session_and_needs_no_access_token() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let res = app.post("/auth/logout", &json!({"refresh_token": user.refresh_token})).await;
    assert_eq!(res.status(), 204);
    app.post("/auth/refresh", &json!({"refresh_token": user.refresh_token})).fails(401, "invalid_token").await;
    let res = app.post("/auth/logout", &json!({"refresh_token": "unknown"})).await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn access_tokens_expire_and_tampered_ones_fail() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let mut parts: Vec<String> = user.token.split('.').map(String::from).collect();
    parts[2] = parts[2].chars().rev().collect();
    app.with_token(&parts.join(".")).get("/accounts/me").fails(401, "unauthenticated").await;
    app.clock.advance(Duration::minutes(16));
    user.get("/accounts/me").fails(401, "token_expired").await;
}

#[tokio::test]
async fn password_reset_sets_a_new_password_once_and_ends_sessions() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    let res = app.post("/auth/password-reset", &json!({"email": user.email})).await;
    assert_eq!(res.status(), 202);
    let token = app.wait_for_email(&user.email, |t| t.contains("Reset your password")).await.token;
    app.post("/auth/password-reset/confirm", &json!({"token": token, "new_password": "short"}))
        .fails(400, "validation_failed")
        .await;
    let res =
        app.post("/auth/password-reset/confirm", &json!({"token": token, "new_password": "brand new password"})).await;
    assert_eq!(res.status(), 204);
    app.post("/auth/password-reset/confirm", &json!({"token": token, "new_password": "another one!"}))
        .fails(400, "invalid_token")
        .await;
    app.login(&user.email, &user.password).fails(401, "invalid_credentials").await;
    app.login(&user.email, "brand new password").returns::<Session>(200).await;
    app.post("/auth/refresh", &json!({"refresh_token": user.refresh_token})).fails(401, "invalid_token").await;
    let res = app.post("/auth/password-reset", &json!({"email": "nobody@example.com"})).await;
    assert_eq!(res.status(), 202);
}

#[tokio::test]
async fn reset_tokens_expire_after_an_hour() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    app.post("/auth/password-reset", &json!({"email": user.email})).await;
    let token = app.wait_for_email(&user.email, |t| t.contains("Reset your password")).await.token;
    app.clock.advance(Duration::minutes(61));
    app.post("/auth/password-reset/confirm", &json!({"token": token, "new_password": "brand new password"}))
        .fails(400, "invalid_token")
        .await;
}

#[tokio::test]
async fn profile_can_be_updated_partially() {
    let app = spawn_app().await;
    let user = app.user(Role::Seller).await;
    let account: Account = user.patch("/accounts/me", &json!({"phone": "+82 10-1234-5678"})).returns(200).await;
    assert_eq!(account.phone.as_deref(), Some("+821012345678"));
    let account: Account = user.patch("/accounts/me", &json!({"name": "Renamed"})).returns(200).await;
    assert_eq!((account.name.as_str(), account.phone.as_deref()), ("Renamed", Some("+821012345678")));
    let account: Account = user.patch("/accounts/me", &json!({"phone": null})).returns(200).await;
    assert_eq!(account.phone, None);
    user.patch("/accounts/me", &json!({"name": ""})).fails(400, "validation_failed").await;
    user.patch("/accounts/me", &json!({"phone": "abc"})).fails(400, "validation_failed").await;
}

#[tokio::test]
async fn changing_the_password_checks_the_current_one_and_revokes_sessions() {
    let app = spawn_app().await;
    let user = app.user(Role::Customer).await;
    user.post("/accounts/me/password", &json!({"current_password": "nope nope", "new_password": "new password 1"}))
        .fails(400, "validation_failed")
        .await;
    let res = user
        .post("/accounts/me/password", &json!({"current_password": user.password, "new_password": "new password 1"}))
        .await;
    assert_eq!(res.status(), 204);
    app.post("/auth/refresh", &json!({"refresh_token": user.refresh_token})).fails(401, "invalid_token").await;
    app.login(&user.email, "new password 1").returns::<Session>(200).await;
}

#[tokio::test]
async fn public_profiles_show_no_private_fields() {
    let app = spawn_app().await;
    let seller = app.user(Role::Seller).await;
    let viewer = app.user(Role::Customer).await;
    let profile: Profile = viewer.get(&format!("/accounts/{}", seller.id)).returns(200).await;
    assert_eq!(profile, Profile { id: seller.id, name: "Test seller".into(), role: "seller".into() });
    viewer.get("/accounts/999999").fails(404, "not_found").await;
    app.get(&format!("/accounts/{}", seller.id)).fails(401, "unauthenticated").await;
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
        app.signup(email, "password1", name, role).returns::<Account>(201).await;
    }
    let raw: Value = viewer.get("/accounts?q=KIM").returns(200).await;
    let page: Page<Profile> = parse(&raw);
    let names: Vec<&str> = page.items.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["100% Pure_Kim", "kimchi lover", "Kim Minsu"], "newest first, never by email");
    assert_eq!(page.total, 3);
    assert!(raw["items"][0].get("email").is_none());
    let page: Page<Profile> = viewer.get("/accounts?q=kim&role=seller&size=1").returns(200).await;
    assert_eq!((page.total, page.size, page.items.len()), (2, 1, 1));
    let page: Page<Profile> = viewer.get("/accounts?q=%25").returns(200).await;
    assert_eq!(page.total, 1, "% is matched literally");
    let page: Page<Profile> = viewer.get(&format!("/accounts?q={}", percent_encode("철수"))).returns(200).await;
    assert_eq!(page.items[0].name, "김철수");
}

#[tokio::test]
async fn admins_come_only_from_the_cli_and_stay_out_of_plain_search() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    assert_eq!(admin.account.role, "admin");
    assert!(admin.account.email_verified);
    let viewer = app.user(Role::Customer).await;
    let page: Page<Profile> = viewer.get("/accounts?q=admin").returns(200).await;
    assert_eq!(page.total, 0);
    let page: Page<Profile> = viewer.get("/accounts?role=admin").returns(200).await;
    assert_eq!(page.total, 1);
}
