//! Payout gateways: `sandbox` (paid at once) and `toss` (Toss Payments payouts, 지급대행 v2).
//!
//! The Toss adapter follows Toss's public payouts guide: every POST with a body is a compact
//! JWE (`alg: dir`, `enc: A256GCM`, custom headers `iat` and `nonce`) under the 64-hex
//! security key, sent as `text/plain` with `TossPayments-api-security-mode: ENCRYPTION` and
//! Basic auth with the secret key; encrypted requests get encrypted responses. Responses are
//! an envelope `{version, traceId, entityType, entityBody, error}`.
//! - `POST /v2/sellers` registers the recipient (its bank account) and returns its `id`;
//! - `POST /v2/payouts` takes an array of `{refPayoutId, destination, scheduleType, amount:
//!   {currency, value}, transactionDescription}`; our payout id is `refPayoutId`, so a
//!   resend of the same payout cannot pay twice;
//! - the lookup (`GET /v2/payouts?refPayoutId=`) and the status names (`REQUESTED`,
//!   `IN_PROGRESS`, `COMPLETED`, `FAILED`, `CANCELED`) are our reading, not confirmed by the
//!   public pages (docs/architecture.md lists what is unconfirmed).

use super::crypto::{jwe_decrypt, jwe_encrypt, key_from_hex};
use crate::settings::TossSettings;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// One payout as a gateway needs it. The account number is only ever here in memory.
pub struct PayoutOrder {
    /// `payout-<id>`: the gateway's idempotency key for this payout.
    pub ref_payout_id: String,
    pub account_id: i64,
    pub amount: i64,
    pub bank_code: String,
    pub account_number: String,
    pub account_holder: String,
}

impl std::fmt::Debug for PayoutOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayoutOrder")
            .field("ref_payout_id", &self.ref_payout_id)
            .field("amount", &self.amount)
            .field("bank_code", &self.bank_code)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutOutcome {
    /// The money reached the account.
    Paid,
    /// Accepted, not finished (scheduled, in progress): look again later.
    InProgress,
    /// Definitely not paid: the points go back.
    Failed(String),
    /// The gateway has no payout with this reference (never arrived).
    NotFound,
    /// Timeout, 5xx, network: it may or may not have arrived; look it up.
    Unknown(String),
}

#[async_trait]
pub trait PayoutGateway: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn send(&self, order: &PayoutOrder) -> PayoutOutcome;
    async fn lookup(&self, ref_payout_id: &str) -> PayoutOutcome;
}

pub struct SandboxPayouts;

#[async_trait]
impl PayoutGateway for SandboxPayouts {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn send(&self, _: &PayoutOrder) -> PayoutOutcome {
        PayoutOutcome::Paid
    }

    /// Sandbox payouts are paid when sent.
    async fn lookup(&self, _: &str) -> PayoutOutcome {
        PayoutOutcome::Paid
    }
}

pub struct TossPayouts {
    client: reqwest::Client,
    base_url: String,
    secret_key: String,
    security_key: [u8; 32],
}

impl TossPayouts {
    pub fn new(settings: &TossSettings) -> anyhow::Result<Self> {
        let security_key = key_from_hex(settings.security_key.expose())
            .map_err(|e| anyhow::anyhow!("payment.toss.security_key: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.payout_timeout_ms.max(100)))
            .connect_timeout(Duration::from_millis(settings.timeout_ms.clamp(100, 5000)))
            .build()?;
        Ok(TossPayouts {
            client,
            base_url: settings.base_url.trim_end_matches('/').to_string(),
            secret_key: settings.secret_key.expose().to_string(),
            security_key,
        })
    }

    /// An encrypted POST; the decrypted envelope, or why we do not know what happened.
    async fn post_encrypted(&self, path: &str, body: &Value) -> Result<Envelope, Uncertain> {
        let jwe = jwe_encrypt(&self.security_key, body.to_string().as_bytes(), &issued_at())
            .map_err(|e| Uncertain::Before(e.to_string()))?;
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .basic_auth(&self.secret_key, Some(""))
            .header("TossPayments-api-security-mode", "ENCRYPTION")
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body(jwe)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    Uncertain::Before(format!("toss unreachable: {}", e.without_url()))
                } else {
                    Uncertain::After(format!("toss request failed: {}", e.without_url()))
                }
            })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| Uncertain::After(format!("unreadable: {}", e.without_url())))?;
        // Errors may come back encrypted or plain.
        let plain = match jwe_decrypt(&self.security_key, &text) {
            Ok(bytes) => bytes,
            Err(_) => text.into_bytes(),
        };
        let envelope: Envelope = serde_json::from_slice(&plain)
            .map_err(|_| Uncertain::After(format!("toss answered {status} with an unreadable body")))?;
        if status.is_server_error() {
            return Err(Uncertain::After(format!("toss answered {status}")));
        }
        Ok(envelope)
    }

    async fn register_seller(&self, order: &PayoutOrder) -> Result<String, PayoutOutcome> {
        // One seller per account and bank account: the ref id is derived, never the number.
        let digest = platform::crypto::sha256_hex(
            format!("{}:{}:{}", order.account_id, order.bank_code, order.account_number).as_bytes(),
        );
        let body = json!({
            "refSellerId": format!("acct{}-{}", order.account_id, &digest[..12]),
            "businessType": "INDIVIDUAL",
            "individual": { "name": order.account_holder },
            "account": {
                "bankCode": order.bank_code,
                "accountNumber": order.account_number,
                "holderName": order.account_holder,
            },
        });
        match self.post_encrypted("/v2/sellers", &body).await {
            Ok(envelope) => match (envelope.error, envelope.entity_body.get("id").and_then(Value::as_str)) {
                (None, Some(id)) => Ok(id.to_string()),
                (Some(error), _) => Err(PayoutOutcome::Failed(format!("seller registration refused: {}", error.code))),
                (None, None) => Err(PayoutOutcome::Unknown("seller registration without an id".into())),
            },
            // Nothing was paid yet either way: retry the whole payout later.
            Err(Uncertain::Before(reason)) => {
                tracing::info!(%reason, "seller registration did not reach toss");
                Err(PayoutOutcome::NotFound)
            }
            Err(Uncertain::After(reason)) => Err(PayoutOutcome::Unknown(reason)),
        }
    }
}

/// `yyyy-MM-dd'T'HH:mm:ss±hh:mm` in Korean time, as Toss's examples show.
fn issued_at() -> String {
    let now = chrono::Utc::now();
    match chrono::FixedOffset::east_opt(9 * 3600) {
        Some(kst) => now.with_timezone(&kst).format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => now.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
    }
}

enum Uncertain {
    /// The request surely never arrived (nothing can have been paid).
    Before(String),
    /// It may have arrived.
    After(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    #[serde(default)]
    entity_body: Value,
    #[serde(default)]
    error: Option<EnvelopeError>,
}

#[derive(Debug, Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: String,
}

/// A payout's status at Toss.
fn status_outcome(status: &str) -> PayoutOutcome {
    match status {
        "COMPLETED" | "PAID" | "DONE" => PayoutOutcome::Paid,
        "REQUESTED" | "IN_PROGRESS" | "SCHEDULED" | "PENDING" => PayoutOutcome::InProgress,
        "FAILED" | "CANCELED" | "CANCELLED" | "REJECTED" => PayoutOutcome::Failed(format!("toss status {status}")),
        other => PayoutOutcome::Unknown(format!("unexpected toss payout status {other}")),
    }
}

/// The first payout item in an entity body: `{items: [..]}`, `[..]` or the item itself.
fn first_item(body: &Value) -> Option<&Value> {
    match body {
        Value::Array(items) => items.first(),
        Value::Object(map) if map.contains_key("items") => map.get("items").and_then(|i| i.as_array()?.first()),
        Value::Object(_) => Some(body),
        _ => None,
    }
}

#[async_trait]
impl PayoutGateway for TossPayouts {
    fn name(&self) -> &'static str {
        "toss"
    }

    async fn send(&self, order: &PayoutOrder) -> PayoutOutcome {
        let destination = match self.register_seller(order).await {
            Ok(id) => id,
            Err(outcome) => return outcome,
        };
        let body = json!([{
            "refPayoutId": order.ref_payout_id,
            "destination": destination,
            "scheduleType": "EXPRESS",
            "amount": { "currency": "KRW", "value": order.amount },
            "transactionDescription": "payout",
        }]);
        match self.post_encrypted("/v2/payouts", &body).await {
            Err(Uncertain::Before(reason)) => {
                tracing::info!(%reason, "payout request did not reach toss; it will be sent again");
                PayoutOutcome::NotFound
            }
            Err(Uncertain::After(reason)) => PayoutOutcome::Unknown(reason),
            Ok(Envelope { error: Some(error), .. }) => PayoutOutcome::Failed(format!("refused: {}", error.code)),
            Ok(envelope) => match first_item(&envelope.entity_body).and_then(|i| i.get("status")?.as_str()) {
                Some(status) => status_outcome(status),
                None => PayoutOutcome::InProgress,
            },
        }
    }

    async fn lookup(&self, ref_payout_id: &str) -> PayoutOutcome {
        let response = self
            .client
            .get(format!("{}/v2/payouts", self.base_url))
            .query(&[("refPayoutId", ref_payout_id)])
            .basic_auth(&self.secret_key, Some(""))
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return PayoutOutcome::Unknown(format!("toss lookup failed: {}", e.without_url())),
        };
        let status = response.status();
        if status.as_u16() == 404 {
            return PayoutOutcome::NotFound;
        }
        let envelope: Envelope = match response.json().await {
            Ok(e) => e,
            Err(_) => return PayoutOutcome::Unknown(format!("toss lookup answered {status} unreadably")),
        };
        if !status.is_success() {
            return PayoutOutcome::Unknown(format!("toss lookup answered {status}"));
        }
        match first_item(&envelope.entity_body) {
            None => PayoutOutcome::NotFound,
            Some(item) => match item.get("status").and_then(Value::as_str) {
                Some(s) => status_outcome(s),
                None => PayoutOutcome::Unknown("toss payout without a status".into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payout_statuses_map_to_outcomes() {
        assert_eq!(status_outcome("COMPLETED"), PayoutOutcome::Paid);
        assert_eq!(status_outcome("IN_PROGRESS"), PayoutOutcome::InProgress);
        assert!(matches!(status_outcome("FAILED"), PayoutOutcome::Failed(_)));
        assert!(matches!(status_outcome("NEW_THING"), PayoutOutcome::Unknown(_)));
        assert_eq!(first_item(&json!({"items": [{"status": "X"}]})), Some(&json!({"status": "X"})));
        assert_eq!(first_item(&json!({"items": []})), None);
    }
}
