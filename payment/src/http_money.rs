//! HTTP handlers for money leaving the platform: charge refunds, payouts, the operators'
//! lists, and Toss's webhook.

use crate::audit::{AuditReport, Mismatch, OpenEscrow};
use crate::charges::{AdminCharge, AdminChargeFilter, Charge, ChargeStatus, Charges, Refund};
use crate::payouts::{Payout, PayoutRequest, PayoutStatus, Payouts};
use crate::wallets::Wallets;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use platform::auth::{AsAdmin, AsSellerOrStreamer, AuthUser};
use platform::error::ErrorBody;
use platform::http::{IdempotencyKey, Json, OptionalJson, PageQuery, Validator};
use platform::{ApiError, ApiResult};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(refund_charge, create_payout, list_payouts, get_payout, admin_charges, admin_payouts, ledger_audit, toss_webhook),
    components(schemas(RefundRequest, Refund, PayoutBody, Payout, PayoutStatus, AdminCharge, AuditReport, Mismatch, OpenEscrow, ErrorBody)),
    tags((name = "payouts", description = "Payouts of earnings to a bank account"),
        (name = "admin", description = "Operators"))
)]
pub struct MoneyApi;

/// Mounted under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/wallet/charges/{id}/refund").route(web::post().to(refund_charge)))
        .service(
            web::resource("/wallet/payouts").route(web::post().to(create_payout)).route(web::get().to(list_payouts)),
        )
        .service(web::resource("/wallet/payouts/{id}").route(web::get().to(get_payout)))
        .service(web::resource("/admin/charges").route(web::get().to(admin_charges)))
        .service(web::resource("/admin/payouts").route(web::get().to(admin_payouts)))
        .service(web::resource("/admin/ledger/audit").route(web::get().to(ledger_audit)));
}

/// Mounted at the root (no base path, no auth).
pub fn configure_webhooks(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/webhooks/toss").route(web::post().to(toss_webhook)));
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PayoutFilter {
    /// `requested`, `processing`, `paid` or `failed`.
    status: Option<String>,
    page: Option<i64>,
    size: Option<i64>,
}

/// An optional `?status=` filter: empty means none, anything else must name a status.
fn status_filter<T: std::str::FromStr>(raw: Option<&str>, choices: fn() -> String) -> Result<Option<T>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| ApiError::invalid_field("status", format!("must be {}", choices()))),
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChargeFilter {
    /// `pending`, `confirmed` or `failed`.
    status: Option<String>,
    /// `true`: only charges operators must look at (cancelled at the gateway after the points were spent).
    attention: Option<bool>,
    page: Option<i64>,
    size: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/admin/charges", tag = "admin", security(("bearer" = [])), params(ChargeFilter),
    responses((status = 200, description = "A page of charges, newest first", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn admin_charges(
    _: AsAdmin,
    charges: web::Data<Charges>,
    query: web::Query<ChargeFilter>,
) -> ApiResult<HttpResponse> {
    let page = PageQuery { page: query.page, size: query.size }.validate()?;
    let status = status_filter(query.status.as_deref(), ChargeStatus::choices)?;
    let filter = AdminChargeFilter { status, attention: query.attention };
    Ok(HttpResponse::Ok().json(charges.admin_page(filter, page).await?))
}

#[utoipa::path(get, path = "/api/v1/admin/payouts", tag = "admin", security(("bearer" = [])), params(PayoutFilter),
    responses((status = 200, description = "A page of payouts, newest first", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn admin_payouts(
    _: AsAdmin,
    payouts: web::Data<Payouts>,
    query: web::Query<PayoutFilter>,
) -> ApiResult<HttpResponse> {
    let page = PageQuery { page: query.page, size: query.size }.validate()?;
    let status = status_filter(query.status.as_deref(), PayoutStatus::choices)?;
    Ok(HttpResponse::Ok().json(payouts.page(None, status, page).await?))
}

/// Runs an incremental audit pass now (the periodic one runs every `payment.audit_interval_secs`).
#[utoipa::path(get, path = "/api/v1/admin/ledger/audit", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "The ledger is sound when sum_of_balances is 0 and mismatches is empty", body = AuditReport),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn ledger_audit(_: AsAdmin, wallets: web::Data<Wallets>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(wallets.audit_pass().await?))
}

/// What a webhook body points at; nothing in it is trusted beyond that.
#[derive(Debug, PartialEq, Eq)]
enum Hint {
    Payment(String),
    Payout(i64),
    Nothing,
}

fn hint_of(body: &[u8]) -> Hint {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return Hint::Nothing };
    let data = value.get("data").unwrap_or(&value);
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    if let Some(id) =
        text(data, "refPayoutId").or_else(|| text(&value, "refPayoutId")).and_then(|r| Payouts::parse_reference(&r))
    {
        return Hint::Payout(id);
    }
    match text(data, "orderId").or_else(|| text(&value, "orderId")) {
        Some(order) if !order.is_empty() && order.len() <= 64 => Hint::Payment(order),
        _ => Hint::Nothing,
    }
}

/// Always answers 200 within 10 s: the work is bounded by 8 s and its errors are logged.
#[utoipa::path(post, path = "/webhooks/toss", tag = "wallet",
    request_body(content = Object, description = "Toss's event (PAYMENT_STATUS_CHANGED, payout events); only a hint"),
    responses((status = 200, description = "Received (whatever it said)", body = Object)))]
async fn toss_webhook(charges: web::Data<Charges>, payouts: web::Data<Payouts>, body: web::Bytes) -> HttpResponse {
    let hint = hint_of(&body);
    let charges: Arc<Charges> = charges.into_inner();
    let payouts: Arc<Payouts> = payouts.into_inner();
    let work = async move {
        match &hint {
            Hint::Payment(order) => charges.apply_gateway_state(order).await,
            Hint::Payout(id) => payouts.settle_one(*id).await,
            Hint::Nothing => {
                tracing::info!("toss webhook without an order or payout reference; ignored");
                Ok(())
            }
        }
    };
    match tokio::time::timeout(Duration::from_secs(8), work).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "toss webhook could not be applied; reconcile will catch up"),
        Err(_) => tracing::warn!("toss webhook took too long; reconcile will catch up"),
    }
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_hints_name_an_order_or_a_payout() {
        assert_eq!(
            hint_of(br#"{"eventType":"PAYMENT_STATUS_CHANGED","data":{"orderId":"chg_1","status":"DONE"}}"#),
            Hint::Payment("chg_1".into())
        );
        assert_eq!(hint_of(br#"{"data":{"refPayoutId":"payout-7"}}"#), Hint::Payout(7));
        assert_eq!(hint_of(b"not json"), Hint::Nothing);
        assert_eq!(hint_of(br#"{"data":{}}"#), Hint::Nothing);
    }
}
