//! Payment gateways: `sandbox` (confirms at once, for development and demos) and `toss`
//! (Toss Payments: the client pays in Toss's widget, then we confirm server-side).

use crate::settings::TossSettings;
use async_trait::async_trait;
use serde::Deserialize;
use std::time::Duration;

/// What the gateway says about a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayOutcome {
    /// Paid in full: credit the charge.
    Paid,
    /// Definitely not paid (declined, cancelled, expired): fail the charge.
    Refused { code: String, message: String },
    /// Started but not finished at the gateway (e.g. awaiting a bank transfer).
    Pending,
    /// The gateway knows no payment for this order.
    NotFound,
    /// We could not learn the outcome (timeout, 5xx, network): ask again later.
    Unknown(String),
}

#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Sandbox charges are confirmed when created, without a client-side payment step.
    fn confirms_instantly(&self) -> bool;
    async fn confirm(&self, payment_key: &str, order_id: &str, amount: i64) -> GatewayOutcome;
    async fn lookup(&self, order_id: &str, amount: i64) -> GatewayOutcome;
    /// Cancels part of a paid payment (a refund to the card).
    async fn cancel(&self, request: CancelRequest) -> CancelOutcome;
    /// The payment of `order_id` as the gateway knows it (status, amounts, cancels).
    async fn payment(&self, order_id: &str) -> SnapshotOutcome;
}

/// A cancel of `amount` of a paid payment. `idempotency_key` makes a retry of the same cancel
/// harmless at the gateway; `reason` is stored with the cancel there, so a lookup can tell
/// which of our refunds it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    /// `None` for a charge that never reached the gateway's payment step.
    pub payment_key: Option<String>,
    pub amount: i64,
    pub reason: String,
    pub idempotency_key: String,
}

/// What the gateway says about a cancel (refund).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    Refused {
        code: String,
        message: String,
    },
    /// Timeout, 5xx, network: it may or may not have happened; look it up.
    Unknown(String),
}

/// A payment as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSnapshot {
    pub payment_key: Option<String>,
    pub status: String,
    pub total_amount: i64,
    /// What is still cancellable: `total_amount` minus everything cancelled so far.
    pub balance_amount: i64,
    /// The `cancelReason` of every cancel, oldest first.
    pub cancel_reasons: Vec<String>,
}

impl PaymentSnapshot {
    pub fn cancelled_amount(&self) -> i64 {
        (self.total_amount - self.balance_amount).max(0)
    }

    /// What the snapshot means for a charge of `amount` still waiting for its outcome.
    pub fn outcome(&self, amount: i64) -> GatewayOutcome {
        payment_outcome(
            &TossPayment {
                status: self.status.clone(),
                total_amount: Some(self.total_amount),
                payment_key: None,
                balance_amount: None,
                cancels: None,
            },
            amount,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    Found(PaymentSnapshot),
    NotFound,
    Unknown(String),
}

pub struct SandboxGateway;

#[async_trait]
impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn confirms_instantly(&self) -> bool {
        true
    }

    async fn confirm(&self, _: &str, _: &str, _: i64) -> GatewayOutcome {
        GatewayOutcome::Paid
    }

    async fn lookup(&self, _: &str, _: i64) -> GatewayOutcome {
        GatewayOutcome::Paid
    }

    async fn cancel(&self, _: CancelRequest) -> CancelOutcome {
        CancelOutcome::Cancelled
    }

    /// The sandbox keeps no payments: there is nothing to look up.
    async fn payment(&self, _: &str) -> SnapshotOutcome {
        SnapshotOutcome::Unknown("the sandbox gateway keeps no payments".into())
    }
}

/// The Toss Payments API: `POST {base}/v1/payments/confirm` and
/// `GET {base}/v1/payments/orders/{orderId}`, Basic auth with the secret key.
pub struct TossGateway {
    client: reqwest::Client,
    base_url: String,
    secret_key: String,
}

/// Sends `request` and reads the whole answer. `Err`: nothing came back (not sent, timed out,
/// or the answer was lost), so the outcome is unknown; said without the URL, which holds ids.
async fn exchange(request: reqwest::RequestBuilder, call: &str) -> Result<(reqwest::StatusCode, String), String> {
    let response = request.send().await.map_err(|e| format!("toss {call} failed: {}", e.without_url()))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| format!("toss {call} answer unreadable: {}", e.without_url()))?;
    Ok((status, body))
}

impl TossGateway {
    pub fn new(settings: &TossSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms.max(100)))
            .connect_timeout(Duration::from_millis(settings.timeout_ms.clamp(100, 5000)))
            .build()?;
        Ok(TossGateway {
            client,
            base_url: settings.base_url.trim_end_matches('/').to_string(),
            secret_key: settings.secret_key.expose().to_string(),
        })
    }

    async fn read(&self, request: reqwest::RequestBuilder, amount: i64) -> GatewayOutcome {
        let (status, body) = match exchange(request, "request").await {
            Ok(answer) => answer,
            Err(reason) => return GatewayOutcome::Unknown(reason),
        };
        if status.is_success() {
            return match serde_json::from_str::<TossPayment>(&body) {
                Ok(payment) => payment_outcome(&payment, amount),
                Err(e) => GatewayOutcome::Unknown(format!("toss payment unparseable: {e}")),
            };
        }
        let error = serde_json::from_str::<TossError>(&body).unwrap_or_default();
        if status.as_u16() == 404 && (error.code.is_empty() || error.code.starts_with("NOT_FOUND")) {
            return GatewayOutcome::NotFound;
        }
        if status.is_server_error() || error.code.is_empty() || UNCERTAIN_CODES.contains(&error.code.as_str()) {
            return GatewayOutcome::Unknown(format!("toss answered {status}: {}", error.code));
        }
        GatewayOutcome::Refused { code: error.code, message: error.message }
    }
}

/// Errors after which the payment may or may not have gone through: look it up later.
const UNCERTAIN_CODES: &[&str] = &[
    "ALREADY_PROCESSED_PAYMENT",
    "PROVIDER_ERROR",
    "FAILED_INTERNAL_SYSTEM_PROCESSING",
    "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING",
    "UNKNOWN_PAYMENT_ERROR",
    // Our own misconfiguration, not the buyer's fault: keep the charge and retry once fixed.
    "UNAUTHORIZED_KEY",
    "INVALID_API_KEY",
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TossPayment {
    status: String,
    total_amount: Option<i64>,
    #[serde(default)]
    payment_key: Option<String>,
    #[serde(default)]
    balance_amount: Option<i64>,
    #[serde(default)]
    cancels: Option<Vec<TossCancel>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TossCancel {
    #[serde(default)]
    cancel_reason: String,
}

impl TossPayment {
    fn snapshot(self) -> PaymentSnapshot {
        let total = self.total_amount.unwrap_or(0);
        PaymentSnapshot {
            payment_key: self.payment_key,
            status: self.status,
            total_amount: total,
            balance_amount: self.balance_amount.unwrap_or(total),
            cancel_reasons: self.cancels.unwrap_or_default().into_iter().map(|c| c.cancel_reason).collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct TossError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn payment_outcome(payment: &TossPayment, amount: i64) -> GatewayOutcome {
    match payment.status.as_str() {
        "DONE" if payment.total_amount == Some(amount) => GatewayOutcome::Paid,
        "DONE" => GatewayOutcome::Refused {
            code: "AMOUNT_MISMATCH".into(),
            message: format!("paid {:?}, expected {amount}", payment.total_amount),
        },
        "READY" | "IN_PROGRESS" | "WAITING_FOR_DEPOSIT" => GatewayOutcome::Pending,
        "CANCELED" | "PARTIAL_CANCELED" | "ABORTED" | "EXPIRED" => {
            GatewayOutcome::Refused { code: payment.status.clone(), message: "payment not completed".into() }
        }
        other => GatewayOutcome::Unknown(format!("unexpected toss status {other}")),
    }
}

#[async_trait]
impl PaymentGateway for TossGateway {
    fn name(&self) -> &'static str {
        "toss"
    }

    fn confirms_instantly(&self) -> bool {
        false
    }

    async fn confirm(&self, payment_key: &str, order_id: &str, amount: i64) -> GatewayOutcome {
        let request = self
            .client
            .post(format!("{}/v1/payments/confirm", self.base_url))
            .basic_auth(&self.secret_key, Some(""))
            .json(&serde_json::json!({ "paymentKey": payment_key, "orderId": order_id, "amount": amount }));
        match self.read(request, amount).await {
            // "Already processed" means an earlier confirm went through or is going through.
            GatewayOutcome::Unknown(reason) if reason.contains("ALREADY_PROCESSED_PAYMENT") => {
                self.lookup(order_id, amount).await
            }
            other => other,
        }
    }

    async fn lookup(&self, order_id: &str, amount: i64) -> GatewayOutcome {
        let request = self
            .client
            .get(format!("{}/v1/payments/orders/{order_id}", self.base_url))
            .basic_auth(&self.secret_key, Some(""));
        self.read(request, amount).await
    }

    async fn cancel(&self, request: CancelRequest) -> CancelOutcome {
        let CancelRequest { payment_key, amount, reason, idempotency_key } = request;
        let Some(payment_key) = payment_key else {
            return CancelOutcome::Refused {
                code: "NO_PAYMENT_KEY".into(),
                message: "the charge has no payment".into(),
            };
        };
        let request = self
            .client
            .post(format!("{}/v1/payments/{payment_key}/cancel", self.base_url))
            .basic_auth(&self.secret_key, Some(""))
            .header("Idempotency-Key", &idempotency_key)
            .json(&serde_json::json!({ "cancelReason": reason, "cancelAmount": amount }));
        let (status, body) = match exchange(request, "cancel").await {
            Ok(answer) => answer,
            Err(reason) => return CancelOutcome::Unknown(reason),
        };
        if status.is_success() {
            return CancelOutcome::Cancelled;
        }
        let error = serde_json::from_str::<TossError>(&body).unwrap_or_default();
        if status.is_server_error() || error.code.is_empty() || UNCERTAIN_CODES.contains(&error.code.as_str()) {
            return CancelOutcome::Unknown(format!("toss answered {status}: {}", error.code));
        }
        CancelOutcome::Refused { code: error.code, message: error.message }
    }

    async fn payment(&self, order_id: &str) -> SnapshotOutcome {
        let request = self
            .client
            .get(format!("{}/v1/payments/orders/{order_id}", self.base_url))
            .basic_auth(&self.secret_key, Some(""));
        let (status, body) = match exchange(request, "lookup").await {
            Ok(answer) => answer,
            Err(reason) => return SnapshotOutcome::Unknown(reason),
        };
        if status.is_success() {
            return match serde_json::from_str::<TossPayment>(&body) {
                Ok(payment) => SnapshotOutcome::Found(payment.snapshot()),
                Err(e) => SnapshotOutcome::Unknown(format!("toss payment unparseable: {e}")),
            };
        }
        if status.as_u16() == 404 {
            return SnapshotOutcome::NotFound;
        }
        SnapshotOutcome::Unknown(format!("toss answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_statuses_map_to_outcomes() {
        let p = |status: &str, amount| TossPayment {
            status: status.into(),
            total_amount: Some(amount),
            payment_key: None,
            balance_amount: None,
            cancels: None,
        };
        assert_eq!(payment_outcome(&p("DONE", 100), 100), GatewayOutcome::Paid);
        assert!(matches!(payment_outcome(&p("DONE", 99), 100), GatewayOutcome::Refused { .. }));
        assert_eq!(payment_outcome(&p("WAITING_FOR_DEPOSIT", 100), 100), GatewayOutcome::Pending);
        assert!(matches!(payment_outcome(&p("ABORTED", 100), 100), GatewayOutcome::Refused { .. }));
        assert!(matches!(payment_outcome(&p("SOMETHING_NEW", 100), 100), GatewayOutcome::Unknown(_)));
    }
}
