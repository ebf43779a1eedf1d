//! Checks shared by many tests.

use super::client::{Api, Reply};
use super::dto::ErrorBody;
use super::spawn::TestApp;
use contracts::Role;
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

/// The account id the ledger checks call the audit endpoint as (no module checks it exists).
const LEDGER_AUDITOR: i64 = 9_000_000_001;

impl TestApp {
    /// Asserts the ledger is sound, as the operators see it and independently: the
    /// incremental audit of `GET /admin/ledger/audit` reports no mismatch and a 0 sum, and so
    /// does a full scan (every balance equals the sum of its entries, no account or escrow is
    /// negative, all balances, system wallets included, sum to 0). Called at the end of every
    /// test that moves money. Returns the full audit for further checks.
    pub async fn assert_ledger_balanced(&self) -> LedgerAudit {
        let admin = self.client_for(LEDGER_AUDITOR, Role::Admin);
        let report: Value = admin.get("/admin/ledger/audit").returns(200).await;
        assert!(report["mismatches"].as_array().is_some_and(Vec::is_empty), "{report}");
        assert_eq!(report["sum_of_balances"], 0, "{report}");
        let audit = self.assembled.wallets.audit().await.unwrap();
        assert!(
            audit.mismatched_wallets.is_empty() && audit.negative_wallets.is_empty() && audit.total_balance == 0,
            "{audit:?}"
        );
        // Wallets are never deleted; a background task may have made one in between.
        assert!(report["wallets"].as_i64().is_some_and(|n| n <= audit.wallets), "{report}");
        audit
    }
}
