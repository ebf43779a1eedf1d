use platform::config::{FieldErrors, Secret, Section, Settings};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct TossSettings {
    pub base_url: String,
    pub secret_key: Secret,
    pub timeout_ms: u64,
    /// The payouts (지급대행) security key: 64 hex characters (32 bytes), the JWE key.
    pub security_key: Secret,
    /// Payout requests may take up to 60 s at Toss (their guide).
    pub payout_timeout_ms: u64,
}

pub(crate) const DEFAULT_AUDIT_GRACE_SECS: i64 = 120;

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
    pub payout_gateway: String,
    /// Smallest payout in points.
    pub min_payout: i64,
    /// 64 hex characters (AES-256): encrypts payout account numbers at rest. Required in
    /// production; elsewhere a fixed development key is used when it is empty.
    pub payout_encryption_key: Secret,
    /// How often the incremental ledger audit runs.
    pub audit_interval_secs: u64,
    /// Entries younger than this are checked but not yet folded into the audited sums
    /// (longer than any transfer transaction can take to commit).
    pub audit_grace_secs: i64,
    /// Cancel fences (cancelled transfer keys) are deleted this long after they were set.
    pub fence_retention_days: i64,
    /// Escrow wallets that never received an entry are deleted after this long unchanged.
    pub escrow_retention_days: i64,
    /// How often the retention sweep runs.
    pub retention_interval_secs: u64,
}

impl PaymentSettings {
    pub fn retention(&self) -> crate::retention::Retention {
        crate::retention::Retention { fence_days: self.fence_retention_days, escrow_days: self.escrow_retention_days }
    }
}

impl Section for PaymentSettings {
    const NAME: &'static str = "payment";

    fn validate(&self, settings: &Settings, errors: &mut FieldErrors) {
        let production = settings.is_production();
        let has_secret = !self.toss.secret_key.expose().trim().is_empty();
        for (key, gateway) in [("gateway", &self.gateway), ("payout_gateway", &self.payout_gateway)] {
            match gateway.as_str() {
                "sandbox" => errors.check(
                    !production || self.allow_sandbox,
                    key,
                    format_args!(
                        "is \"sandbox\": refusing to start in production on the sandbox (set payment.{key} = \"toss\", or payment.allow_sandbox = true)"
                    ),
                ),
                "toss" => errors.check(has_secret, key, "= \"toss\" needs payment.toss.secret_key"),
                other => errors.add(key, format_args!("is {other:?}: expected sandbox or toss")),
            }
        }
        if self.payout_gateway == "toss"
            && let Err(e) = crate::payouts::crypto::key_from_hex(self.toss.security_key.expose())
        {
            errors.add("toss.security_key", format_args!("is malformed: {e}"));
        }
        let encryption_key = self.payout_encryption_key.expose().trim();
        if encryption_key.is_empty() {
            errors.check(
                !production,
                "payout_encryption_key",
                "is empty: refusing to start in production without it (64 hex characters)",
            );
        } else if let Err(e) = crate::payouts::crypto::key_from_hex(encryption_key) {
            errors.add("payout_encryption_key", format_args!("is malformed: {e}"));
        }
        errors.check(self.min_payout >= 1, "min_payout", "must be at least 1");
        errors.check(self.max_charge >= 1, "max_charge", "must be at least 1");
        errors.check(self.reconcile_interval_ms >= 100, "reconcile_interval_ms", "must be at least 100");
        errors.check(self.pending_expiry_secs >= 1, "pending_expiry_secs", "must be at least 1");
        errors.check(self.audit_interval_secs >= 1, "audit_interval_secs", "must be at least 1");
        errors.check(self.fence_retention_days >= 1, "fence_retention_days", "must be at least 1");
        errors.check(self.escrow_retention_days >= 1, "escrow_retention_days", "must be at least 1");
        errors.check(self.retention_interval_secs >= 1, "retention_interval_secs", "must be at least 1");
        errors.check((0..=86_400).contains(&self.audit_grace_secs), "audit_grace_secs", "must be between 0 and 86400");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::config::LoadOptions;

    fn settings_of(settings: &Settings) -> anyhow::Result<PaymentSettings> {
        settings.section::<PaymentSettings>()
    }

    #[test]
    fn production_refuses_the_sandbox_unless_allowed() {
        let prod = |extra: Vec<(String, String)>| LoadOptions {
            environment: Some("production".into()),
            overrides: [vec![("auth.jwt_secret".to_string(), "a-real-secret-for-production-use".to_string())], extra]
                .concat(),
            ..Default::default()
        };
        let settings = Settings::load(prod(vec![])).unwrap();
        assert!(settings_of(&settings).is_err());
        let allowed = Settings::load(prod(vec![
            ("payment.allow_sandbox".into(), "true".into()),
            ("payment.payout_encryption_key".into(), "ab".repeat(32)),
        ]))
        .unwrap();
        assert!(settings_of(&allowed).is_ok());
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
        let err = settings_of(&settings).unwrap_err().to_string();
        assert!(err.contains("payout_encryption_key"), "{err}");
        let bad = Settings::load(LoadOptions::default().with("payment.payout_encryption_key", "short")).unwrap();
        assert!(settings_of(&bad).is_err(), "a malformed key is refused everywhere");
    }

    #[test]
    fn toss_needs_a_secret_key() {
        let settings = Settings::load(LoadOptions::default().with("payment.gateway", "toss")).unwrap();
        assert!(settings_of(&settings).is_err());
        let settings = Settings::load(
            LoadOptions::default().with("payment.gateway", "toss").with("payment.toss.secret_key", "test_sk_x"),
        )
        .unwrap();
        assert!(settings_of(&settings).is_ok());
    }
}
