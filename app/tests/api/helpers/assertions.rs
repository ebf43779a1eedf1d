//! Checks shared by many tests.

use super::client::Reply;
use super::dto::ErrorBody;
use super::spawn::TestApp;
use payment::LedgerAudit;
use serde_json::Value;

/// docs/api.md's error answer: the status, a JSON body `{"error": {code, message, details}}`
/// with this code, a message and a details object.
pub(super) async fn assert_error_body(reply: Reply, status: u16, code: &str) -> ErrorBody {
    let actual = reply.status();
    let content_type = reply.header("content-type").unwrap_or_default().to_string();
    let text = reply.text().await;
    assert_eq!(actual, status, "{text}");
    assert!(content_type.starts_with("application/json"), "content type {content_type}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(body["error"]["code"], code, "{text}");
    assert!(body["error"]["message"].is_string(), "{text}");
    assert!(body["error"]["details"].is_object(), "{text}");
    serde_json::from_value(body).unwrap_or_else(|e| panic!("not an error body ({e}): {text}"))
}

impl TestApp {
    /// Audits the whole ledger and asserts it is sound: every balance equals the sum of its
    /// entries, no account or escrow is negative, all balances (system wallets included)
    /// sum to 0. Returns the audit for further checks.
    pub async fn assert_ledger_balanced(&self) -> LedgerAudit {
        let audit = self.assembled.wallets.audit().await.unwrap();
        assert!(
            audit.mismatched_wallets.is_empty() && audit.negative_wallets.is_empty() && audit.total_balance == 0,
            "{audit:?}"
        );
        audit
    }
}
