//! HTTP handlers of the wallet itself (balance, ledger), the operators' ledger audit and
//! Toss's webhook; charges and payouts have theirs in [`crate::charges::http`] and
//! [`crate::payouts::http`].

use crate::audit::{AuditReport, Mismatch, OpenEscrow};
use crate::charges::Charges;
use crate::error::wallet_refusal;
use crate::ledger::EntryRow;
use crate::payouts::Payouts;
use crate::wallets::Wallets;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use contracts::wallet::{EntryKind, WalletRef, WalletService};
use platform::auth::{AsAdmin, AuthUser};
use platform::clock::from_db;
use platform::error::ErrorBody;
use platform::http::{CursorPage, CursorQuery};
use platform::{ApiError, ApiResult};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(wallet, entries, ledger_audit, toss_webhook),
    components(schemas(WalletView, Entry, EntryKind, AuditReport, Mismatch, OpenEscrow, ErrorBody)),
    tags((name = "wallet", description = "Balance, ledger and point charges"),
        (name = "admin", description = "Operators"))
)]
pub struct PaymentApi;

/// Mounted under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/wallet").route(web::get().to(wallet)))
        .service(web::resource("/wallet/entries").route(web::get().to(entries)))
        .service(web::resource("/admin/ledger/audit").route(web::get().to(ledger_audit)));
}

/// Mounted at the root (no base path, no auth).
pub fn configure_webhooks(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/webhooks/toss").route(web::post().to(toss_webhook)));
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

/// An optional `?status=` filter: empty means none, anything else must name a status.
pub(crate) fn status_filter<T: std::str::FromStr>(
    raw: Option<&str>,
    choices: fn() -> String,
) -> Result<Option<T>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| ApiError::invalid_field("status", format!("must be {}", choices()))),
    }
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
