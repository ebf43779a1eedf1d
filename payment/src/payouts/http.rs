//! HTTP handlers of payouts: request one to a bank account, the caller's history, and the
//! operators' list.

use super::{Payout, PayoutRequest, PayoutStatus, Payouts};
use crate::http::status_filter;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use platform::auth::{AsAdmin, AsSellerOrStreamer, AuthUser};
use platform::error::ErrorBody;
use platform::http::{IdempotencyKey, Json, PageQuery, Validator};
use platform::{ApiError, ApiResult};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(create_payout, list_payouts, get_payout, admin_payouts),
    components(schemas(PayoutBody, Payout, PayoutStatus, ErrorBody)),
    tags((name = "payouts", description = "Payouts of earnings to a bank account"))
)]
pub struct PayoutsApi;

/// Mounted under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/wallet/payouts").route(web::post().to(create_payout)).route(web::get().to(list_payouts)),
    )
    .service(web::resource("/wallet/payouts/{id}").route(web::get().to(get_payout)))
    .service(web::resource("/admin/payouts").route(web::get().to(admin_payouts)));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutBody {
    /// Points to pay out, at least `payment.min_payout` (default 10,000).
    #[schema(minimum = 1)]
    amount: i64,
    /// The bank's code (2 to 3 digits, e.g. `088`).
    bank_code: String,
    /// Digits, optionally with dashes; stored encrypted, never returned.
    account_number: String,
    account_holder: String,
}

/// Never prints the account number.
impl std::fmt::Debug for PayoutBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayoutBody")
            .field("amount", &self.amount)
            .field("bank_code", &self.bank_code)
            .finish_non_exhaustive()
    }
}

fn validate_payout(body: PayoutBody, min_payout: i64) -> Result<PayoutRequest, ApiError> {
    let bank_code = body.bank_code.trim().to_string();
    let account_number: String = body.account_number.trim().chars().filter(|c| *c != '-' && *c != ' ').collect();
    let account_holder = body.account_holder.trim().to_string();
    let mut v = Validator::default();
    v.check(body.amount >= min_payout, "amount", &format!("must be at least {min_payout}"));
    v.check(
        (2..=3).contains(&bank_code.len()) && bank_code.chars().all(|c| c.is_ascii_digit()),
        "bank_code",
        "must be 2 or 3 digits",
    );
    v.check(
        (6..=20).contains(&account_number.len()) && account_number.chars().all(|c| c.is_ascii_digit()),
        "account_number",
        "must be 6 to 20 digits",
    );
    v.length(&account_holder, "account_holder", 1, 50);
    v.finish()?;
    Ok(PayoutRequest { amount: body.amount, bank_code, account_number, account_holder })
}

#[utoipa::path(post, path = "/api/v1/wallet/payouts", tag = "payouts", security(("bearer" = [])), request_body = PayoutBody,
    params(("Idempotency-Key" = String, Header, description = "1..=128 printable ASCII characters")),
    responses((status = 201, description = "Created (the points are in the payout's escrow), or the original result of a replayed key", body = Payout),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Only sellers and streamers", body = ErrorBody),
        (status = 409, description = "insufficient_balance, idempotency_conflict", body = ErrorBody)))]
async fn create_payout(
    user: AsSellerOrStreamer,
    payouts: web::Data<Payouts>,
    key: IdempotencyKey,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    // The role is checked before the body is read.
    let Json(body) = Json::<PayoutBody>::from_request(&req, &mut payload.into_inner()).await?;
    let request = validate_payout(body, payouts.min_payout())?;
    let payout = payouts.create(user.account(), key.as_str(), request).await?;
    Ok(HttpResponse::Created().json(payout))
}

platform::paged_query! {
    pub struct PayoutFilter {
        /// `requested`, `processing`, `paid` or `failed`.
        status: Option<String>,
    }
}

#[utoipa::path(get, path = "/api/v1/wallet/payouts", tag = "payouts", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "A page of the caller's payouts, newest first", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_payouts(
    user: AuthUser,
    payouts: web::Data<Payouts>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = query.validate()?;
    Ok(HttpResponse::Ok().json(payouts.page(Some(user.account()), None, page).await?))
}

#[utoipa::path(get, path = "/api/v1/wallet/payouts/{id}", tag = "payouts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Payout id")),
    responses((status = 200, body = Payout), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_payout(user: AuthUser, payouts: web::Data<Payouts>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(payouts.get(user.account(), id.into_inner().into()).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/payouts", tag = "admin", security(("bearer" = [])), params(PayoutFilter),
    responses((status = 200, description = "A page of payouts, newest first", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn admin_payouts(
    _: AsAdmin,
    payouts: web::Data<Payouts>,
    query: web::Query<PayoutFilter>,
) -> ApiResult<HttpResponse> {
    let page = query.page().validate()?;
    let status = status_filter(query.status.as_deref(), PayoutStatus::choices)?;
    Ok(HttpResponse::Ok().json(payouts.page(None, status, page).await?))
}
