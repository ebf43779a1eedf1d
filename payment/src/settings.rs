use anyhow::bail;
use platform::config::{Secret, Settings};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct TossSettings {
    pub base_url: String,
    pub secret_key: Secret,
    pub timeout_ms: u64,
    /// The payouts (지급대행) security key: 64 hex characters (32 bytes), the JWE key.
    #[serde(default)]
    pub security_key: Secret,
    /// Payout requests may take up to 60 s at Toss (their guide).
    #[serde(default = "default_payout_timeout_ms")]
    pub payout_timeout_ms: u64,
}

fn default_payout_timeout_ms() -> u64 {
    60_000
}

fn default_min_payout() -> i64 {
    10_000
}

pub(crate) const DEFAULT_AUDIT_GRACE_SECS: i64 = 120;

fn default_audit_interval_secs() -> u64 {
    300
}

fn default_audit_grace_secs() -> i64 {
    DEFAULT_AUDIT_GRACE_SECS
}

fn default_payout_gateway() -> String {
    "sandbox".into()
}

/// The `[payment]` section.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentSettings {
    /// `sandbox` or `toss`.
    pub gateway: String,
    pub allow_sandbox: bool,
    pub max_charge: i64,
    pub reconcile_interval_ms: u64,
    pub pending_expiry_secs: i64,
    pub toss: TossSettings,
    /// `sandbox` (paid at once) or `toss` (Toss Payments payouts).
    #[serde(default = "default_payout_gateway")]
    pub payout_gateway: String,
    /// Smallest payout in points.
    #[serde(default = "default_min_payout")]
    pub min_payout: i64,
    /// 64 hex characters (AES-256): encrypts payout account numbers at rest. Required in
    /// production; elsewhere a fixed development key is used when it is empty.
    #[serde(default)]
    pub payout_encryption_key: Secret,
    /// How often the incremental ledger audit runs.
    #[serde(default = "default_audit_interval_secs")]
    pub audit_interval_secs: u64,
    /// Entries younger than this are checked but not yet folded into the audited sums
    /// (longer than any transfer transaction can take to commit).
    #[serde(default = "default_audit_grace_secs")]
    pub audit_grace_secs: i64,
}

impl PaymentSettings {
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let payment: PaymentSettings = settings.module("payment")?;
        match payment.gateway.as_str() {
            "sandbox" if settings.is_production() && !payment.allow_sandbox => {
                bail!(
                    "refusing to start in production on the sandbox payment gateway (set payment.gateway = \"toss\", or payment.allow_sandbox = true)"
                )
            }
            "sandbox" => {}
            "toss" if payment.toss.secret_key.expose().trim().is_empty() => {
                bail!("payment.gateway = \"toss\" needs payment.toss.secret_key")
            }
            "toss" => {}
            other => bail!("unknown payment.gateway {other:?} (expected sandbox or toss)"),
        }
        match payment.payout_gateway.as_str() {
            "sandbox" if settings.is_production() && !payment.allow_sandbox => {
                bail!(
                    "refusing to start in production on the sandbox payout gateway (set payment.payout_gateway = \"toss\", or payment.allow_sandbox = true)"
                )
            }
            "sandbox" => {}
            "toss" if payment.toss.secret_key.expose().trim().is_empty() => {
                bail!("payment.payout_gateway = \"toss\" needs payment.toss.secret_key")
            }
            "toss" => {
                crate::payouts::crypto::key_from_hex(payment.toss.security_key.expose())
                    .map_err(|e| anyhow::anyhow!("payment.toss.security_key: {e}"))?;
            }
            other => bail!("unknown payment.payout_gateway {other:?} (expected sandbox or toss)"),
        }
        let encryption_key = payment.payout_encryption_key.expose().trim();
        if encryption_key.is_empty() {
            if settings.is_production() {
                bail!("refusing to start in production without payment.payout_encryption_key (64 hex characters)");
            }
        } else {
            crate::payouts::crypto::key_from_hex(encryption_key)
                .map_err(|e| anyhow::anyhow!("payment.payout_encryption_key: {e}"))?;
        }
        if payment.min_payout < 1 {
            bail!("payment.min_payout must be at least 1");
        }
        if payment.audit_interval_secs < 1 {
            bail!("payment.audit_interval_secs must be at least 1");
        }
        if !(0..=86_400).contains(&payment.audit_grace_secs) {
            bail!("payment.audit_grace_secs must be between 0 and 86400");
        }
        if payment.max_charge < 1 {
            bail!("payment.max_charge must be at least 1");
        }
        Ok(payment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::config::LoadOptions;

    #[test]
    fn production_refuses_the_sandbox_unless_allowed() {
        let prod = |extra: Vec<(String, String)>| LoadOptions {
            environment: Some("production".into()),
            overrides: [vec![("auth.jwt_secret".to_string(), "a-real-secret-for-production-use".to_string())], extra]
                .concat(),
            ..Default::default()
        };
        let settings = Settings::load(prod(vec![])).unwrap();
        assert!(PaymentSettings::load(&settings).is_err());
        let allowed = Settings::load(prod(vec![
            ("payment.allow_sandbox".into(), "true".into()),
            ("payment.payout_encryption_key".into(), "ab".repeat(32)),
        ]))
        .unwrap();
        assert!(PaymentSettings::load(&allowed).is_ok());
    }

    #[test]
    fn production_refuses_to_start_without_a_payout_encryption_key() {
        let settings = Settings::load(LoadOptions {
            environment: Some("production".into()),
            overrides: vec![
                ("auth.jwt_secret".to_string(), "a-real-secret-for-production-use".to_string()),
                ("payment.allow_sandbox".to_string(), "true".to_string()),
            ],
            ..Default::default()
        })
        .unwrap();
        let err = PaymentSettings::load(&settings).unwrap_err().to_string();
        assert!(err.contains("payout_encryption_key"), "{err}");
        let bad = Settings::load(LoadOptions::default().with("payment.payout_encryption_key", "short")).unwrap();
        assert!(PaymentSettings::load(&bad).is_err(), "a malformed key is refused everywhere");
    }

    #[test]
    fn toss_needs_a_secret_key() {
        let settings = Settings::load(LoadOptions::default().with("payment.gateway", "toss")).unwrap();
        assert!(PaymentSettings::load(&settings).is_err());
        let settings = Settings::load(
            LoadOptions::default().with("payment.gateway", "toss").with("payment.toss.secret_key", "test_sk_x"),
        )
        .unwrap();
        assert!(PaymentSettings::load(&settings).is_ok());
    }
}
