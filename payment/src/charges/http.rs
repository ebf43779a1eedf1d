//! HTTP handlers of point charges: create, read, confirm with the gateway, refund to the
//! card, and the operators' list.

use super::{AdminCharge, AdminChargeFilter, Charge, ChargeStatus, Charges, Refund};
use crate::http::status_filter;
use actix_web::{HttpResponse, web};
use platform::auth::{AsAdmin, AuthUser};
use platform::error::ErrorBody;
use platform::http::{IdempotencyKey, Json, OptionalJson, Validator};
use platform::{ApiError, ApiResult};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(create_charge, get_charge, confirm_charge, refund_charge, admin_charges),
    components(schemas(
        Charge,
        ChargeStatus,
        ChargeRequest,
        ConfirmRequest,
        RefundRequest,
        Refund,
        AdminCharge,
        ErrorBody
    ))
)]
pub struct ChargesApi;

/// Mounted under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/wallet/charges").route(web::post().to(create_charge)))
        .service(web::resource("/wallet/charges/{id}").route(web::get().to(get_charge)))
        .service(web::resource("/wallet/charges/{id}/confirm").route(web::post().to(confirm_charge)))
        .service(web::resource("/wallet/charges/{id}/refund").route(web::post().to(refund_charge)))
        .service(web::resource("/admin/charges").route(web::get().to(admin_charges)));
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChargeRequest {
    /// Points to buy (1 point = 1 KRW), 1 up to `payment.max_charge` (default 10,000,000).
    #[schema(minimum = 1, maximum = 10_000_000)]
    amount: i64,
}

#[utoipa::path(post, path = "/api/v1/wallet/charges", tag = "wallet", security(("bearer" = [])), request_body = ChargeRequest,
    params(("Idempotency-Key" = String, Header, description = "1..=128 printable ASCII characters")),
    responses((status = 201, description = "Created, or the original result of a replayed key", body = Charge),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, description = "idempotency_conflict", body = ErrorBody)))]
async fn create_charge(
    user: AuthUser,
    charges: web::Data<Charges>,
    key: IdempotencyKey,
    Json(body): Json<ChargeRequest>,
) -> ApiResult<HttpResponse> {
    let max = charges.max_charge();
    Validator::default()
        .check((1..=max).contains(&body.amount), "amount", &format!("must be between 1 and {max}"))
        .finish()?;
    let charge = charges.create(user.account(), key.as_str(), body.amount).await?;
    Ok(HttpResponse::Created().json(charge))
}

#[utoipa::path(get, path = "/api/v1/wallet/charges/{id}", tag = "wallet", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Charge id")),
    responses((status = 200, body = Charge), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_charge(user: AuthUser, charges: web::Data<Charges>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(charges.get(user.account(), id.into_inner().into()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmRequest {
    /// Toss's `paymentKey` from the payment widget's success redirect.
    #[schema(min_length = 1, max_length = 200)]
    payment_key: String,
}

#[utoipa::path(post, path = "/api/v1/wallet/charges/{id}/confirm", tag = "wallet", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Charge id")), request_body = ConfirmRequest,
    responses((status = 200, description = "Confirmed and credited", body = Charge),
        (status = 202, description = "Outcome unknown yet; it stays pending and is reconciled later", body = Charge),
        (status = 402, description = "payment_refused: the gateway refused; nothing credited", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn confirm_charge(
    user: AuthUser,
    charges: web::Data<Charges>,
    id: web::Path<i64>,
    Json(body): Json<ConfirmRequest>,
) -> ApiResult<HttpResponse> {
    let key = body.payment_key.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::invalid_field("payment_key", "must be 1 to 200 characters"));
    }
    let charge = charges.confirm(user.account(), id.into_inner().into(), key).await?;
    Ok(match charge.status {
        ChargeStatus::Pending => HttpResponse::Accepted().json(charge),
        _ => HttpResponse::Ok().json(charge),
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Points to refund; default: what is left of the charge.
    #[schema(minimum = 1)]
    amount: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/wallet/charges/{id}/refund", tag = "wallet", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Charge id"),
        ("Idempotency-Key" = String, Header, description = "1..=128 printable ASCII characters")),
    request_body(content = RefundRequest, description = "Optional; an empty body refunds what is left"),
    responses((status = 200, description = "Refunded to the card", body = Charge),
        (status = 202, description = "The gateway's answer is not known yet; the refund stays pending and is looked up", body = Charge),
        (status = 402, description = "payment_refused: the gateway refused; the points are back", body = ErrorBody),
        (status = 404, description = "Not the caller's charge", body = ErrorBody),
        (status = 409, description = "refund_exceeds_charge, insufficient_balance, invalid_charge_state, idempotency_conflict, request_in_progress", body = ErrorBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn refund_charge(
    user: AuthUser,
    charges: web::Data<Charges>,
    id: web::Path<i64>,
    key: IdempotencyKey,
    OptionalJson(body): OptionalJson<RefundRequest>,
) -> ApiResult<HttpResponse> {
    if let Some(amount) = body.amount {
        Validator::default().check(amount >= 1, "amount", "must be at least 1").finish()?;
    }
    let (charge, settled) = charges.refund(user.account(), id.into_inner().into(), key.as_str(), body.amount).await?;
    Ok(if settled { HttpResponse::Ok().json(charge) } else { HttpResponse::Accepted().json(charge) })
}

platform::paged_query! {
    pub struct ChargeFilter {
        /// `pending`, `confirmed` or `failed`.
        status: Option<String>,
        /// `true`: only charges operators must look at (cancelled at the gateway after the points were spent).
        attention: Option<bool>,
    }
}

#[utoipa::path(get, path = "/api/v1/admin/charges", tag = "admin", security(("bearer" = [])), params(ChargeFilter),
    responses((status = 200, description = "A page of charges, newest first", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn admin_charges(
    _: AsAdmin,
    charges: web::Data<Charges>,
    query: web::Query<ChargeFilter>,
) -> ApiResult<HttpResponse> {
    let page = query.page().validate()?;
    let status = status_filter(query.status.as_deref(), ChargeStatus::choices)?;
    let filter = AdminChargeFilter { status, attention: query.attention };
    Ok(HttpResponse::Ok().json(charges.admin_page(filter, page).await?))
}
