//! HTTP handlers of the account module: extract and validate, call the service, answer JSON.

use crate::model::{Account, DisplayName, EmailAddress, Password, Phone, signup_role};
use crate::service::{Accounts, LoginResult, NewAccount};
use crate::suspension::{AdminAccount, MAX_REASON_CHARS, SuspensionView};
use actix_web::{HttpResponse, web};
use contracts::account::{AccountService, ProfileQuery, PublicProfile};
use contracts::{Page, Role};
use platform::auth::{AsAdmin, AuthUser};
use platform::error::ErrorBody;
use platform::error::ErrorCode;
use platform::http::{Json, OptionalJson, PageQuery, Validator, double_option};
use platform::ratelimit::IpRateLimit;
use platform::{ApiError, ApiResult};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        signup, verify_email_link, verify_email, resend_verification, login, refresh, logout,
        request_password_reset, confirm_password_reset, me, update_me, change_password, profile, search,
        admin_accounts, suspend, reinstate
    ),
    components(schemas(
        Account, LoginResult, PublicProfile, Role, SignupRequest, TokenRequest, EmailRequest, LoginRequest,
        RefreshRequest, ResetConfirmRequest, UpdateMeRequest, ChangePasswordRequest, ErrorBody,
        SuspendRequest, SuspensionView, AdminAccount, Page<AdminAccount>
    )),
    tags((name = "auth", description = "Signup, verification, login, tokens"), (name = "accounts", description = "Profiles"))
)]
pub struct AccountApi;

/// Mounts the routes under the caller's scope (`/api/v1`). `/auth/*` is rate limited per IP.
pub fn configure(cfg: &mut web::ServiceConfig, auth_limit: &IpRateLimit) {
    cfg.service(
        web::scope("/auth")
            .wrap(auth_limit.middleware())
            .service(web::resource("/signup").route(web::post().to(signup)))
            .service(
                web::resource("/verify-email")
                    .route(web::get().to(verify_email_link))
                    .route(web::post().to(verify_email)),
            )
            .service(web::resource("/resend-verification").route(web::post().to(resend_verification)))
            .service(web::resource("/login").route(web::post().to(login)))
            .service(web::resource("/refresh").route(web::post().to(refresh)))
            .service(web::resource("/logout").route(web::post().to(logout)))
            .service(web::resource("/password-reset").route(web::post().to(request_password_reset)))
            .service(web::resource("/password-reset/confirm").route(web::post().to(confirm_password_reset))),
    )
    .service(web::resource("/accounts/me").route(web::get().to(me)).route(web::patch().to(update_me)))
    .service(web::resource("/accounts/me/password").route(web::post().to(change_password)))
    .service(web::resource("/accounts").route(web::get().to(search)))
    .service(web::resource("/accounts/{id}").route(web::get().to(profile)))
    .service(web::resource("/admin/accounts").route(web::get().to(admin_accounts)))
    .service(web::resource("/admin/accounts/{id}/suspend").route(web::post().to(suspend)))
    .service(web::resource("/admin/accounts/{id}/reinstate").route(web::post().to(reinstate)));
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupRequest {
    #[schema(max_length = 254, format = Email)]
    email: String,
    /// 8..=128 characters.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    /// 1..=50 characters.
    #[schema(min_length = 1, max_length = 50)]
    name: String,
    /// `customer`, `seller` or `streamer`.
    #[schema(pattern = "^(customer|seller|streamer)$")]
    role: String,
    /// 7 to 15 digits, optionally with `+`, spaces or dashes.
    #[schema(max_length = 32)]
    phone: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, body = Account), (status = 400, body = ErrorBody), (status = 409, description = "email_taken", body = ErrorBody)))]
async fn signup(accounts: web::Data<Accounts>, Json(body): Json<SignupRequest>) -> ApiResult<HttpResponse> {
    let mut v = Validator::default();
    let email = EmailAddress::parse(&body.email).map_err(|e| v.add("email", e)).ok();
    let password = Password::parse(&body.password).map_err(|e| v.add("password", e)).ok();
    let name = DisplayName::parse(&body.name).map_err(|e| v.add("name", e)).ok();
    let role = signup_role(&body.role).map_err(|e| v.add("role", e)).ok();
    let phone = match body.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Phone::parse(p).map_err(|e| v.add("phone", e)).ok(),
        None => None,
    };
    v.finish()?;
    let (Some(email), Some(password), Some(name), Some(role)) = (email, password, name, role) else {
        return Err(ApiError::internal(anyhow::anyhow!("validator passed with missing fields")));
    };
    let account = accounts.signup(NewAccount { email, password, name, role, phone }).await?;
    Ok(HttpResponse::Created().json(account))
}

#[derive(Debug, Deserialize, ToSchema, IntoParams)]
pub struct TokenRequest {
    token: String,
}

#[utoipa::path(get, path = "/api/v1/auth/verify-email", tag = "auth", params(TokenRequest),
    responses((status = 200, body = Account), (status = 400, description = "invalid_token", body = ErrorBody)))]
async fn verify_email_link(accounts: web::Data<Accounts>, query: web::Query<TokenRequest>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts.verify_email(&query.token).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = Account), (status = 400, description = "invalid_token", body = ErrorBody)))]
async fn verify_email(accounts: web::Data<Accounts>, Json(body): Json<TokenRequest>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts.verify_email(&body.token).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailRequest {
    email: String,
}

#[utoipa::path(post, path = "/api/v1/auth/resend-verification", tag = "auth", request_body = EmailRequest,
    responses((status = 202, description = "Sent if the address belongs to an unverified account")))]
async fn resend_verification(accounts: web::Data<Accounts>, Json(body): Json<EmailRequest>) -> ApiResult<HttpResponse> {
    accounts.resend_verification(&body.email).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    email: String,
    password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResult), (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "email_not_verified", body = ErrorBody), (status = 429, description = "rate_limited", body = ErrorBody)))]
async fn login(accounts: web::Data<Accounts>, Json(body): Json<LoginRequest>) -> ApiResult<HttpResponse> {
    if body.password.chars().count() > 1024 {
        // Not a password anyone has: refuse before spending an argon2 hash on it.
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "The email or password is wrong."));
    }
    Ok(HttpResponse::Ok().json(accounts.login(&body.email, &body.password).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    refresh_token: String,
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = LoginResult), (status = 401, description = "invalid_token or token_expired", body = ErrorBody)))]
async fn refresh(accounts: web::Data<Accounts>, Json(body): Json<RefreshRequest>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts.refresh(&body.refresh_token).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "The session of this refresh token is over")))]
async fn logout(accounts: web::Data<Accounts>, Json(body): Json<RefreshRequest>) -> ApiResult<HttpResponse> {
    accounts.logout(&body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = EmailRequest,
    responses((status = 202, description = "Sent if the address belongs to an account")))]
async fn request_password_reset(
    accounts: web::Data<Accounts>,
    Json(body): Json<EmailRequest>,
) -> ApiResult<HttpResponse> {
    accounts.request_password_reset(&body.email).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirmRequest {
    token: String,
    /// 8..=128 characters.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmRequest,
    responses((status = 204, description = "Password changed; every session ended"), (status = 400, body = ErrorBody)))]
async fn confirm_password_reset(
    accounts: web::Data<Accounts>,
    Json(body): Json<ResetConfirmRequest>,
) -> ApiResult<HttpResponse> {
    let password = Password::parse(&body.new_password).map_err(|e| ApiError::invalid_field("new_password", e))?;
    accounts.confirm_password_reset(&body.token, password).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/accounts/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Account), (status = 401, body = ErrorBody)))]
async fn me(user: AuthUser, accounts: web::Data<Accounts>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts.get(user.account_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMeRequest {
    /// 1..=50 characters.
    #[schema(min_length = 1, max_length = 50)]
    name: Option<String>,
    /// `null` removes the phone number.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 32)]
    phone: Option<Option<String>>,
}

#[utoipa::path(patch, path = "/api/v1/accounts/me", tag = "accounts", security(("bearer" = [])), request_body = UpdateMeRequest,
    responses((status = 200, body = Account), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn update_me(
    user: AuthUser,
    accounts: web::Data<Accounts>,
    Json(body): Json<UpdateMeRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validator::default();
    let name = body.name.as_deref().and_then(|n| DisplayName::parse(n).map_err(|e| v.add("name", e)).ok());
    let phone = match body.phone {
        None => None,
        Some(None) => Some(None),
        Some(Some(p)) if p.trim().is_empty() => Some(None),
        Some(Some(p)) => Phone::parse(&p).map_err(|e| v.add("phone", e)).ok().map(Some),
    };
    v.finish()?;
    Ok(HttpResponse::Ok().json(accounts.update_profile(user.account_id, name, phone).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    #[schema(max_length = 1024)]
    current_password: String,
    /// 8..=128 characters.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

#[utoipa::path(post, path = "/api/v1/accounts/me/password", tag = "accounts", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses((status = 204, description = "Changed; every refresh token revoked"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn change_password(
    user: AuthUser,
    accounts: web::Data<Accounts>,
    Json(body): Json<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let password = Password::parse(&body.new_password).map_err(|e| ApiError::invalid_field("new_password", e))?;
    if body.current_password.chars().count() > 1024 {
        return Err(ApiError::invalid_field("current_password", "is not correct"));
    }
    accounts.change_password(user.account_id, &body.current_password, password).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = PublicProfile), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn profile(_user: AuthUser, accounts: web::Data<Accounts>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let profile = accounts.profile(id.into_inner()).await?.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(profile))
}

platform::paged_query! {
    pub struct SearchQuery {
        /// Part of the name, case-insensitive.
        #[param(max_length = 100)]
        q: Option<String>,
        /// `customer`, `seller`, `streamer` or `admin`.
        role: Option<String>,
    }
}

/// Parses `?q=&role=&page=&size=` into a profile query (also used by chat's user search).
pub fn profile_query(q: Option<&str>, role: Option<&str>, page: PageQuery) -> Result<ProfileQuery, ApiError> {
    let page = page.validate()?;
    let mut v = Validator::default();
    let role = match role.map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => r.parse::<Role>().map_err(|_| v.add("role", "must be customer, seller, streamer or admin")).ok(),
    };
    if let Some(q) = q {
        v.length(q, "q", 0, 100);
    }
    v.finish()?;
    Ok(ProfileQuery {
        name_contains: q.map(str::to_string),
        role,
        // Admins are found only when asked for by role.
        exclude_roles: if role.is_none() { vec![Role::Admin] } else { Vec::new() },
        page,
    })
}

#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", security(("bearer" = [])), params(SearchQuery),
    responses((status = 200, body = Page<PublicProfile>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn search(
    _user: AuthUser,
    accounts: web::Data<Accounts>,
    query: web::Query<SearchQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let q = profile_query(query.q.as_deref(), query.role.as_deref(), query.page())?;
    Ok(HttpResponse::Ok().json(accounts.search_profiles(q).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminSearchQuery {
    /// Part of the name or email, case-insensitive.
    #[param(max_length = 100)]
    q: Option<String>,
    /// `customer`, `seller`, `streamer` or `admin`.
    role: Option<String>,
    #[param(minimum = 0)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    size: Option<i64>,
}

/// Accounts as operators see them: emails and suspension included.
#[utoipa::path(get, path = "/api/v1/admin/accounts", tag = "moderation", security(("bearer" = [])), params(AdminSearchQuery),
    responses((status = 200, body = Page<AdminAccount>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn admin_accounts(
    _: AsAdmin,
    accounts: web::Data<Accounts>,
    query: web::Query<AdminSearchQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let parsed =
        profile_query(query.q.as_deref(), query.role.as_deref(), PageQuery { page: query.page, size: query.size })?;
    let q = parsed.name_contains.map(|q| q.trim().to_string()).filter(|q| !q.is_empty());
    Ok(HttpResponse::Ok().json(accounts.admin_search(q, parsed.role, parsed.page).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SuspendRequest {
    /// 1..=500 characters.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    /// When the suspension ends by itself (in the future); absent or `null`: until reinstated.
    until: Option<chrono::DateTime<chrono::Utc>>,
}

/// Suspends an account: login refused, refresh tokens revoked, access tokens refused on every
/// instance within seconds, sockets closed, products out of search.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/suspend", tag = "moderation", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")), request_body = SuspendRequest,
    responses((status = 200, body = SuspensionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Not an admin, or the account is an admin's", body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn suspend(
    user: AsAdmin,
    accounts: web::Data<Accounts>,
    id: web::Path<i64>,
    Json(body): Json<SuspendRequest>,
) -> ApiResult<HttpResponse> {
    let mut v = Validator::default();
    let reason = body.reason.trim();
    v.check(!reason.is_empty() && reason.chars().count() <= MAX_REASON_CHARS, "reason", "must be 1 to 500 characters");
    if let Some(until) = body.until {
        v.check(until > accounts.now(), "until", "must be in the future");
    }
    v.finish()?;
    Ok(HttpResponse::Ok().json(accounts.suspend(id.into_inner(), reason, body.until, Some(user.account_id)).await?))
}

/// Lifts a suspension (a no-op for an account that is not suspended).
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/reinstate", tag = "moderation", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = SuspensionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn reinstate(
    _: AsAdmin,
    accounts: web::Data<Accounts>,
    id: web::Path<i64>,
    _body: OptionalJson<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(accounts.reinstate(id.into_inner()).await?))
}
