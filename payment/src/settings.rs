use anyhow::bail;
use platform::config::{Secret, Settings};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct TossSettings {
    pub base_url: String,
    pub secret_key: Secret,
    pub timeout_ms: u64,
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
        let allowed = Settings::load(prod(vec![("payment.allow_sandbox".into(), "true".into())])).unwrap();
        assert!(PaymentSettings::load(&allowed).is_ok());
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
