//! HTTP handlers of the payment module.

use crate::charges::{Charge, ChargeStatus, Charges};
use crate::error::wallet_refusal;
use crate::ledger::EntryRow;
use crate::wallets::Wallets;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use contracts::wallet::{EntryKind, WalletRef, WalletService};
use platform::auth::AuthUser;
use platform::clock::from_db;
use platform::error::ErrorBody;
use platform::http::{CursorPage, CursorQuery, IdempotencyKey, Json, Validator};
use platform::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(wallet, entries, create_charge, get_charge, confirm_charge),
    components(schemas(WalletView, Entry, EntryKind, Charge, ChargeStatus, ChargeRequest, ConfirmRequest, ErrorBody)),
    tags((name = "wallet", description = "Balance, ledger and point charges"))
)]
pub struct PaymentApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/wallet").route(web::get().to(wallet)))
        .service(web::resource("/wallet/entries").route(web::get().to(entries)))
        .service(web::resource("/wallet/charges").route(web::post().to(create_charge)))
        .service(web::resource("/wallet/charges/{id}").route(web::get().to(get_charge)))
        .service(web::resource("/wallet/charges/{id}/confirm").route(web::post().to(confirm_charge)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WalletView {
    pub account_id: i64,
    pub balance: i64,
}

#[utoipa::path(get, path = "/api/v1/wallet", tag = "wallet", security(("bearer" = [])),
    responses((status = 200, body = WalletView), (status = 401, body = ErrorBody)))]
async fn wallet(user: AuthUser, wallets: web::Data<Wallets>) -> ApiResult<HttpResponse> {
    let balance = wallets.balance(&WalletRef::Account(user.account_id)).await.map_err(wallet_refusal)?;
    Ok(HttpResponse::Ok().json(WalletView { account_id: user.account_id, balance }))
}

/// A ledger entry of the caller's wallet.
#[derive(Debug, Serialize, ToSchema)]
pub struct Entry {
    pub id: i64,
    /// Signed: negative when points left the wallet.
    pub amount: i64,
    pub balance_after: i64,
    pub kind: EntryKind,
    /// What it was for, e.g. `charge:12`, `order:5`, `mission:3`.
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

impl Entry {
    fn from_row(row: EntryRow) -> Option<Entry> {
        Some(Entry {
            id: row.id,
            amount: row.amount,
            balance_after: row.balance_after,
            kind: EntryKind::parse(&row.kind)?,
            reference: row.reference,
            created_at: from_db(row.created_at),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/wallet/entries", tag = "wallet", security(("bearer" = [])), params(CursorQuery),
    responses((status = 200, body = CursorPage<Entry>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn entries(
    user: AuthUser,
    wallets: web::Data<Wallets>,
    query: web::Query<CursorQuery>,
) -> ApiResult<HttpResponse> {
    let cursor = query.validate()?;
    let rows = wallets.entries(user.account_id, cursor.before, cursor.limit).await?;
    let rows: Vec<Entry> = rows.into_iter().filter_map(Entry::from_row).collect();
    Ok(HttpResponse::Ok().json(CursorPage::from_rows(rows, cursor.limit, |e| e.id)))
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
