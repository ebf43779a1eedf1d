//! Layered settings: compiled-in defaults → `config/default.toml` → `config/<APP_ENV>.toml`
//! → `APP__SECTION__KEY` variables → `DATABASE_URL`, `REDIS_URL`, `PORT`.

use anyhow::{Context, bail};
use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::fmt;

/// The defaults, compiled in so that the binary runs from any working directory.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");
const DEFAULT_JWT_SECRET: &str = "insecure-development-secret-change-me";

/// A value that must never be printed (secrets, passwords).
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub public_url: String,
    pub shutdown_grace_secs: u64,
    pub drain_delay_ms: u64,
    pub body_limit_bytes: usize,
    pub trusted_proxies: Vec<String>,
    pub cors_allowed_origins: Vec<String>,
    pub hsts_max_age_secs: u64,
    pub max_blocking_threads: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub max_connections: u32,
    pub min_idle: u32,
    pub checkout_timeout_ms: u64,
    /// The most one database call (connection checkout, queries, commit) may take before
    /// the caller gets `Unavailable`: a frozen server gives 503s, not hung requests.
    pub operation_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub url: Secret,
    pub key_prefix: String,
    pub command_timeout_ms: u64,
    pub connect_timeout_ms: u64,
}

impl RedisSettings {
    pub fn url(&self) -> Option<&str> {
        Some(self.url.expose().trim()).filter(|u| !u.is_empty())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub jwt_secret: Secret,
    pub issuer: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub require_verified_email: bool,
    pub verification_ttl_secs: i64,
    pub reset_ttl_secs: i64,
    pub login_max_failures: i64,
    pub login_lockout_secs: u64,
    pub hash_concurrency: usize,
    /// How often each instance reloads the whole suspension list (changes also arrive over
    /// pub/sub at once); a suspended account is refused everywhere within this at worst.
    pub suspension_reload_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub auth_per_second: u64,
    pub auth_burst: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    pub smtp_url: Secret,
    pub dir: String,
    pub from: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSettings {
    pub poll_interval_ms: u64,
    pub batch_size: i64,
    pub max_attempts: i32,
    pub lease_secs: i64,
    /// Done rows are deleted this long after they were handled.
    pub retention_days: i64,
    /// Parked rows nobody retried are deleted this long after they were parked (the
    /// `outbox_parked` alert has fired long before; a mission's settlement is re-driven by
    /// its own sweep, not by the row).
    pub parked_retention_days: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub level: String,
    pub format: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `APP_ENV` (default `development`).
    pub environment: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub mail: MailSettings,
    pub outbox: OutboxSettings,
    pub log: LogSettings,
    /// Everything, for module sections (`payment`, `mission`…) that platform does not know.
    raw: Config,
}

/// A module's section of the configuration (`[payment]`, `[order]`…). Its defaults are
/// the section in `config/default.toml` (compiled in, so every key is always present);
/// [`Settings::section`] reads it through the same layers as everything else and refuses
/// values that [`Section::validate`] rejects.
pub trait Section: DeserializeOwned {
    /// The section's key, e.g. `"payment"`.
    const NAME: &'static str;

    /// Records every value that the module cannot run with. `settings` gives the
    /// environment (production refuses some development conveniences).
    fn validate(&self, settings: &Settings, errors: &mut FieldErrors);
}

/// The problems [`Section::validate`] found, each naming its full key.
pub struct FieldErrors {
    section: &'static str,
    errors: Vec<String>,
}

impl FieldErrors {
    /// Records `message` against `key` (relative to the section, e.g. `"toss.secret_key"`).
    pub fn add(&mut self, key: &str, message: impl fmt::Display) {
        self.errors.push(format!("{}.{key} {message}", self.section));
    }

    /// Records `message` against `key` unless `ok`.
    pub fn check(&mut self, ok: bool, key: &str, message: impl fmt::Display) {
        if !ok {
            self.add(key, message);
        }
    }
}

/// Where settings come from besides the compiled-in defaults.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// Directory holding `default.toml` and `<env>.toml`; `None` skips files.
    pub config_dir: Option<String>,
    pub environment: Option<String>,
    /// Read `APP__…`, `DATABASE_URL`, `REDIS_URL` and `PORT`.
    pub use_env: bool,
    /// Applied last, e.g. `("database.url", "sqlite:///tmp/x.db")`; used by tests.
    pub overrides: Vec<(String, String)>,
}

impl LoadOptions {
    /// What the binary uses: files in `config/` (or `APP_CONFIG_DIR`) and the environment.
    pub fn from_env() -> Self {
        LoadOptions {
            config_dir: Some(std::env::var("APP_CONFIG_DIR").unwrap_or_else(|_| "config".into())),
            environment: std::env::var("APP_ENV").ok(),
            use_env: true,
            overrides: Vec::new(),
        }
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.push((key.into(), value.into()));
        self
    }
}

impl Settings {
    pub fn load(options: LoadOptions) -> anyhow::Result<Settings> {
        let environment = options.environment.clone().unwrap_or_else(|| "development".into());
        let mut builder = Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(dir) = &options.config_dir {
            builder = builder
                .add_source(File::with_name(&format!("{dir}/default")).required(false))
                .add_source(File::with_name(&format!("{dir}/{environment}")).required(false));
        }
        if options.use_env {
            builder = builder.add_source(
                Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("server.trusted_proxies")
                    .with_list_parse_key("server.cors_allowed_origins"),
            );
            if let Ok(url) = std::env::var("DATABASE_URL") {
                builder = builder.set_override("database.url", url)?;
            }
            if let Ok(url) = std::env::var("REDIS_URL") {
                builder = builder.set_override("redis.url", url)?;
            }
        }
        for (key, value) in &options.overrides {
            builder = builder.set_override(key.as_str(), value.as_str())?;
        }
        let mut raw = builder.build().context("reading configuration")?;
        if options.use_env
            && let Ok(port) = std::env::var("PORT")
        {
            let bind: String = raw.get("server.bind")?;
            let host = bind.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or(bind);
            raw = Config::builder().add_source(raw).set_override("server.bind", format!("{host}:{port}"))?.build()?;
        }
        let settings = Settings {
            environment,
            server: raw.get("server").context("[server]")?,
            database: raw.get("database").context("[database]")?,
            redis: raw.get("redis").context("[redis]")?,
            auth: raw.get("auth").context("[auth]")?,
            rate_limit: raw.get("rate_limit").context("[rate_limit]")?,
            mail: raw.get("mail").context("[mail]")?,
            outbox: raw.get("outbox").context("[outbox]")?,
            log: raw.get("log").context("[log]")?,
            raw,
        };
        settings.validate()?;
        Ok(settings)
    }

    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    /// A module's own section, read and validated: every module loads its settings this
    /// way (`settings.section::<PaymentSettings>()`). A value that does not parse or does
    /// not pass [`Section::validate`] refuses to start, naming the key.
    pub fn section<S: Section>(&self) -> anyhow::Result<S> {
        let section: S =
            self.raw.get(S::NAME).map_err(|e| anyhow::anyhow!("invalid [{}] configuration: {e}", S::NAME))?;
        let mut errors = FieldErrors { section: S::NAME, errors: Vec::new() };
        section.validate(self, &mut errors);
        if errors.errors.is_empty() {
            Ok(section)
        } else {
            bail!("invalid [{}] configuration: {}", S::NAME, errors.errors.join("; "))
        }
    }

    /// `<module>.database_url` when set, else `database.url`.
    pub fn database_url_for(&self, module: &str) -> String {
        self.raw
            .get_string(&format!("{module}.database_url"))
            .ok()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| self.database.url.expose().to_string())
    }

    pub fn json_logs(&self) -> bool {
        match self.log.format.as_str() {
            "json" => true,
            "text" => false,
            _ => self.is_production(),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        let secret = self.auth.jwt_secret.expose();
        if secret.len() < 16 {
            bail!("auth.jwt_secret must be at least 16 characters");
        }
        if self.is_production() && secret == DEFAULT_JWT_SECRET {
            bail!("refusing to start in production with the default auth.jwt_secret (set APP__AUTH__JWT_SECRET)");
        }
        if self.auth.access_ttl_secs <= 0 || self.auth.refresh_ttl_secs <= 0 {
            bail!("auth token lifetimes must be positive");
        }
        if self.server.body_limit_bytes == 0 {
            bail!("server.body_limit_bytes must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_without_files_or_environment() {
        let s = Settings::load(LoadOptions::default()).unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:8080");
        assert_eq!(s.database.url.expose(), "sqlite://data/app.db");
        assert!(s.redis.url().is_none());
        assert!(s.auth.require_verified_email);
    }

    #[test]
    fn module_database_url_falls_back_to_the_shared_one() {
        let s = Settings::load(LoadOptions::default().with("account.database_url", "sqlite://acc.db")).unwrap();
        assert_eq!(s.database_url_for("account"), "sqlite://acc.db");
        assert_eq!(s.database_url_for("payment"), "sqlite://data/app.db");
    }

    #[test]
    fn production_refuses_the_default_jwt_secret() {
        let opts = LoadOptions { environment: Some("production".into()), ..Default::default() };
        let err = Settings::load(opts).unwrap_err();
        assert!(err.to_string().contains("jwt_secret"), "{err}");
    }

    #[derive(Debug, Deserialize)]
    struct Sample {
        limit: i64,
    }

    impl Section for Sample {
        const NAME: &'static str = "sample";
        fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
            errors.check(self.limit >= 1, "limit", "must be at least 1");
        }
    }

    #[test]
    fn a_section_refuses_a_bad_value_naming_its_key() {
        let ok = Settings::load(LoadOptions::default().with("sample.limit", "3")).unwrap();
        assert_eq!(ok.section::<Sample>().unwrap().limit, 3);
        let low = Settings::load(LoadOptions::default().with("sample.limit", "0")).unwrap();
        let err = low.section::<Sample>().unwrap_err().to_string();
        assert!(err.contains("sample.limit must be at least 1"), "{err}");
        let unparsable = Settings::load(LoadOptions::default().with("sample.limit", "lots")).unwrap();
        let err = unparsable.section::<Sample>().unwrap_err().to_string();
        assert!(err.contains("[sample]") && err.contains("lots"), "{err}");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings::load(LoadOptions::default()).unwrap();
        assert!(!format!("{:?}", s.auth).contains("insecure"));
    }
}
