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
            server: read_section(&raw, ServerSettings::NAME)?,
            database: read_section(&raw, DatabaseSettings::NAME)?,
            redis: read_section(&raw, RedisSettings::NAME)?,
            auth: read_section(&raw, AuthSettings::NAME)?,
            rate_limit: read_section(&raw, RateLimitSettings::NAME)?,
            mail: read_section(&raw, MailSettings::NAME)?,
            outbox: read_section(&raw, OutboxSettings::NAME)?,
            log: read_section(&raw, LogSettings::NAME)?,
            environment,
            raw,
        };
        settings.check(&settings.server)?;
        settings.check(&settings.database)?;
        settings.check(&settings.redis)?;
        settings.check(&settings.auth)?;
        settings.check(&settings.rate_limit)?;
        settings.check(&settings.mail)?;
        settings.check(&settings.outbox)?;
        settings.check(&settings.log)?;
        Ok(settings)
    }

    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    /// A module's own section, read and validated: every module loads its settings this
    /// way (`settings.section::<PaymentSettings>()`). A value that does not parse or does
    /// not pass [`Section::validate`] refuses to start, naming the key.
    pub fn section<S: Section>(&self) -> anyhow::Result<S> {
        let section: S = read_section(&self.raw, S::NAME)?;
        self.check(&section)?;
        Ok(section)
    }

    /// Refuses a section that [`Section::validate`] rejects, naming every bad key.
    fn check<S: Section>(&self, section: &S) -> anyhow::Result<()> {
        let mut errors = FieldErrors { section: S::NAME, errors: Vec::new() };
        section.validate(self, &mut errors);
        if errors.errors.is_empty() {
            Ok(())
        } else {
            bail!("invalid [{}] configuration: {}", S::NAME, errors.errors.join("; "))
        }
    }

    /// `<module>.database_url` when set, else `database.url`; a value that is not a string
    /// refuses to start like any other bad key.
    pub fn database_url_for(&self, module: &str) -> anyhow::Result<String> {
        let key = format!("{module}.database_url");
        let own = match self.raw.get::<String>(&key) {
            Ok(url) => url.trim().to_string(),
            Err(config::ConfigError::NotFound(_)) => String::new(),
            Err(e) => bail!("invalid [{module}] configuration: {key}: {e}"),
        };
        Ok(if own.is_empty() { self.database.url.expose().to_string() } else { own })
    }

    pub fn json_logs(&self) -> bool {
        match self.log.format.as_str() {
            "json" => true,
            "text" => false,
            _ => self.is_production(),
        }
    }
}

/// Deserializes one section, naming the full key path of a value of the wrong type
/// (`order.auto_confirm_secs: invalid type: string "soon", expected i64`).
fn read_section<S: DeserializeOwned>(raw: &Config, name: &str) -> anyhow::Result<S> {
    let value: config::Value = raw.get(name).map_err(|e| anyhow::anyhow!("invalid [{name}] configuration: {e}"))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." { name.to_string() } else { format!("{name}.{path}") };
        anyhow::anyhow!("invalid [{name}] configuration: {key}: {}", e.inner())
    })
}

impl Section for ServerSettings {
    const NAME: &'static str = "server";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(self.body_limit_bytes >= 1, "body_limit_bytes", "must be positive");
        errors.check(!self.bind.trim().is_empty(), "bind", "must be host:port");
    }
}

impl Section for DatabaseSettings {
    const NAME: &'static str = "database";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(self.max_connections >= 1, "max_connections", "must be at least 1");
        errors.check(self.min_idle <= self.max_connections, "min_idle", "must be at most database.max_connections");
        errors.check(self.checkout_timeout_ms >= 1, "checkout_timeout_ms", "must be at least 1");
        errors.check(self.operation_timeout_ms >= 1, "operation_timeout_ms", "must be at least 1");
    }
}

impl Section for RedisSettings {
    const NAME: &'static str = "redis";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(self.command_timeout_ms >= 1, "command_timeout_ms", "must be at least 1");
        errors.check(self.connect_timeout_ms >= 1, "connect_timeout_ms", "must be at least 1");
    }
}

impl Section for AuthSettings {
    const NAME: &'static str = "auth";

    fn validate(&self, settings: &Settings, errors: &mut FieldErrors) {
        let secret = self.jwt_secret.expose();
        errors.check(secret.len() >= 16, "jwt_secret", "must be at least 16 characters");
        errors.check(
            !(settings.is_production() && secret == DEFAULT_JWT_SECRET),
            "jwt_secret",
            "is the default: refusing to start in production with it (set APP__AUTH__JWT_SECRET)",
        );
        errors.check(self.access_ttl_secs >= 1, "access_ttl_secs", "must be positive");
        errors.check(self.refresh_ttl_secs >= 1, "refresh_ttl_secs", "must be positive");
        errors.check(self.verification_ttl_secs >= 1, "verification_ttl_secs", "must be positive");
        errors.check(self.reset_ttl_secs >= 1, "reset_ttl_secs", "must be positive");
        errors.check(self.login_max_failures >= 1, "login_max_failures", "must be at least 1");
        // Every request reads the list it reloads; faster would only load the database.
        errors.check(self.suspension_reload_ms >= 100, "suspension_reload_ms", "must be at least 100");
    }
}

impl Section for RateLimitSettings {
    const NAME: &'static str = "rate_limit";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(self.auth_per_second >= 1, "auth_per_second", "must be at least 1");
        errors.check(self.auth_burst >= 1, "auth_burst", "must be at least 1");
    }
}

impl Section for MailSettings {
    const NAME: &'static str = "mail";

    // `from` is parsed as a mailbox when the mailer is built (the same start-up refusal).
    fn validate(&self, _: &Settings, _: &mut FieldErrors) {}
}

impl Section for OutboxSettings {
    const NAME: &'static str = "outbox";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(self.poll_interval_ms >= 1, "poll_interval_ms", "must be at least 1");
        errors.check(self.batch_size >= 1, "batch_size", "must be at least 1");
        errors.check(self.max_attempts >= 1, "max_attempts", "must be at least 1");
        errors.check(self.lease_secs >= 1, "lease_secs", "must be at least 1");
        errors.check(self.retention_days >= 1, "retention_days", "must be at least 1");
        errors.check(self.parked_retention_days >= 1, "parked_retention_days", "must be at least 1");
    }
}

impl Section for LogSettings {
    const NAME: &'static str = "log";

    fn validate(&self, _: &Settings, errors: &mut FieldErrors) {
        errors.check(
            matches!(self.format.as_str(), "text" | "json" | "auto"),
            "format",
            format_args!("is {:?}: expected text, json or auto", self.format),
        );
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
        assert_eq!(s.database_url_for("account").unwrap(), "sqlite://acc.db");
        assert_eq!(s.database_url_for("payment").unwrap(), "sqlite://data/app.db");
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
    fn a_value_of_the_wrong_type_is_refused_naming_its_full_key() {
        let err = Settings::load(LoadOptions::default().with("outbox.batch_size", "many")).unwrap_err().to_string();
        assert!(err.contains("invalid [outbox] configuration: outbox.batch_size:") && err.contains("many"), "{err}");
        let nested = Settings::load(LoadOptions::default().with("account.database_url.nested", "x")).unwrap();
        assert!(nested.database_url_for("account").unwrap_err().to_string().contains("account.database_url"));
    }

    #[test]
    fn core_sections_are_validated_like_module_sections() {
        let err =
            Settings::load(LoadOptions::default().with("database.max_connections", "0").with("outbox.lease_secs", "0"))
                .unwrap_err()
                .to_string();
        assert!(err.contains("database.max_connections must be at least 1"), "{err}");
        let err =
            Settings::load(LoadOptions::default().with("auth.suspension_reload_ms", "20")).unwrap_err().to_string();
        assert!(err.contains("auth.suspension_reload_ms must be at least 100"), "{err}");
        let err = Settings::load(LoadOptions::default().with("log.format", "xml")).unwrap_err().to_string();
        assert!(err.contains("log.format is \"xml\""), "{err}");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings::load(LoadOptions::default()).unwrap();
        assert!(!format!("{:?}", s.auth).contains("insecure"));
    }
}
