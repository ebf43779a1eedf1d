//! Push delivery behind [`PushSender`]; [`FcmSender`] speaks the FCM HTTP v1 API:
//!
//! - an OAuth2 access token from the service account: an RS256 JWT (`iss` = the account's
//!   email, `scope` = `https://www.googleapis.com/auth/firebase.messaging`, `aud` = the token
//!   URI, one hour) exchanged at the token URI (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`)
//!   for `{access_token, expires_in}`, cached until a minute before it expires (one refresh
//!   at a time; a 401 from FCM drops it and fetches a new one);
//! - `POST {api}/v1/projects/{project}/messages:send` `{"message": {token, notification,
//!   data, android, apns, webpush}}` with `Authorization: Bearer …`;
//! - 429 and 5xx (and transport errors) are retried with exponential backoff, honouring
//!   `Retry-After`; `404 NOT_FOUND` / `errorCode: UNREGISTERED` means the token is dead
//!   ([`PushOutcome::Unregistered`]: the caller deletes it); other 4xx are not retried.
//!
//! A push is sent at least once; the notification id is the collapse key on every
//! platform (`android.collapse_key`, `apns-collapse-id`, `webpush` `Topic`), so a repeat
//! after a crash replaces the first on the device instead of stacking.

use async_trait::async_trait;
use platform::config::Secret;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// One push to one device.
#[derive(Debug, Clone, PartialEq)]
pub struct PushMessage {
    pub token: String,
    pub platform: String,
    pub title: String,
    pub body: String,
    /// Web app path; the client opens `{public_url}{link}`.
    pub link: String,
    pub collapse_id: String,
    /// String values only (FCM's `data` map).
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Sent,
    /// The token is no longer valid: delete the device.
    Unregistered,
}

#[async_trait]
pub trait PushSender: Send + Sync + 'static {
    /// Retries transient failures itself; an error means it gave up on this push.
    async fn send(&self, message: &PushMessage) -> anyhow::Result<PushOutcome>;
}

/// `[notify.fcm]`: off unless `project_id` is set.
#[derive(Debug, Clone, Deserialize)]
pub struct FcmSettings {
    #[serde(default)]
    pub project_id: String,
    /// The service account's `client_email`.
    #[serde(default)]
    pub client_email: String,
    /// The service account's `private_key` (PEM).
    #[serde(default = "empty_secret")]
    pub private_key: Secret,
    /// A service-account JSON file (as downloaded from the Firebase console) instead of the
    /// three fields above.
    #[serde(default)]
    pub service_account_file: String,
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Attempts per push, the first included.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_backoff")]
    pub initial_backoff_ms: u64,
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn empty_secret() -> Secret {
    Secret::new("")
}
fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".into()
}
fn default_api_base() -> String {
    "https://fcm.googleapis.com".into()
}
fn default_attempts() -> u32 {
    4
}
fn default_backoff() -> u64 {
    500
}
fn default_timeout() -> u64 {
    10_000
}

impl FcmSettings {
    pub fn enabled(&self) -> bool {
        !self.project_id.trim().is_empty() || !self.service_account_file.trim().is_empty()
    }
}

#[derive(Deserialize)]
struct ServiceAccountFile {
    project_id: String,
    client_email: String,
    private_key: String,
    #[serde(default)]
    token_uri: Option<String>,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

pub struct FcmSender {
    http: reqwest::Client,
    project_id: String,
    client_email: String,
    key: jsonwebtoken::EncodingKey,
    token_uri: String,
    api_base: String,
    max_attempts: u32,
    initial_backoff: Duration,
    token: Mutex<Option<CachedToken>>,
}

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// How a failed attempt ends.
enum Failure {
    Retry { after: Option<Duration>, error: anyhow::Error },
    Give(anyhow::Error),
}

impl FcmSender {
    pub fn new(settings: &FcmSettings) -> anyhow::Result<Self> {
        let (project_id, client_email, private_key, token_uri) = if settings.service_account_file.trim().is_empty() {
            (
                settings.project_id.clone(),
                settings.client_email.clone(),
                settings.private_key.expose().to_string(),
                settings.token_uri.clone(),
            )
        } else {
            let raw = std::fs::read_to_string(settings.service_account_file.trim())
                .map_err(|e| anyhow::anyhow!("notify.fcm.service_account_file: {e}"))?;
            let file: ServiceAccountFile = serde_json::from_str(&raw)
                .map_err(|e| anyhow::anyhow!("notify.fcm.service_account_file is not a service account: {e}"))?;
            (file.project_id, file.client_email, file.private_key, file.token_uri.unwrap_or(settings.token_uri.clone()))
        };
        if project_id.trim().is_empty() || client_email.trim().is_empty() {
            anyhow::bail!("notify.fcm needs project_id and client_email (or service_account_file)");
        }
        let key = jsonwebtoken::EncodingKey::from_rsa_der(&rsa_pkcs1_der(&private_key)?);
        let http = reqwest::Client::builder().timeout(Duration::from_millis(settings.timeout_ms.max(100))).build()?;
        Ok(FcmSender {
            http,
            project_id,
            client_email,
            key,
            token_uri,
            api_base: settings.api_base.trim_end_matches('/').to_string(),
            max_attempts: settings.max_attempts.max(1),
            initial_backoff: Duration::from_millis(settings.initial_backoff_ms),
            token: Mutex::new(None),
        })
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    async fn access_token(&self) -> anyhow::Result<String> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(token.value.clone());
        }
        let now = chrono::Utc::now().timestamp();
        let claims =
            json!({"iss": self.client_email, "scope": SCOPE, "aud": self.token_uri, "iat": now, "exp": now + 3600});
        let assertion =
            jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &self.key)?;
        let response = self
            .http
            .post(&self.token_uri)
            .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion.as_str())])
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("FCM token endpoint answered {status}: {}", body.chars().take(300).collect::<String>());
        }
        #[derive(Deserialize)]
        struct TokenResponse {
            access_token: String,
            expires_in: u64,
        }
        let token: TokenResponse = response.json().await?;
        metrics::counter!("notify_fcm_token_fetches_total").increment(1);
        let lifetime = Duration::from_secs(token.expires_in.saturating_sub(60).max(1));
        *cached = Some(CachedToken { value: token.access_token.clone(), refresh_at: Instant::now() + lifetime });
        Ok(token.access_token)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    fn body(&self, m: &PushMessage) -> Value {
        json!({"message": {
            "token": m.token,
            "notification": {"title": m.title, "body": m.body},
            "data": m.data,
            "android": {"collapse_key": m.collapse_id, "notification": {"tag": m.collapse_id}},
            "apns": {"headers": {"apns-collapse-id": m.collapse_id}},
            "webpush": {"headers": {"Topic": m.collapse_id}, "fcm_options": {"link": m.link}},
        }})
    }

    async fn attempt(&self, message: &PushMessage) -> Result<PushOutcome, Failure> {
        let token = self.access_token().await.map_err(|error| Failure::Retry { after: None, error })?;
        let url = format!("{}/v1/projects/{}/messages:send", self.api_base, self.project_id);
        let response = match self.http.post(&url).bearer_auth(token).json(&self.body(message)).send().await {
            Ok(r) => r,
            Err(e) => return Err(Failure::Retry { after: None, error: e.into() }),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(PushOutcome::Sent);
        }
        let error = &body["error"];
        let fcm_code = error["details"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|d| d["errorCode"].as_str())
            .unwrap_or_default()
            .to_string();
        let described = anyhow::anyhow!(
            "FCM answered {status} {} {fcm_code}: {}",
            error["status"].as_str().unwrap_or(""),
            error["message"].as_str().unwrap_or("")
        );
        match status {
            404 => Ok(PushOutcome::Unregistered),
            _ if fcm_code == "UNREGISTERED" => Ok(PushOutcome::Unregistered),
            401 => {
                self.forget_token().await;
                Err(Failure::Retry { after: Some(Duration::ZERO), error: described })
            }
            429 | 500..=599 => Err(Failure::Retry { after: retry_after, error: described }),
            _ => Err(Failure::Give(described)),
        }
    }
}

/// The PKCS#1 DER of an RSA key in PEM: `BEGIN PRIVATE KEY` (PKCS#8, as Google's service
/// account files carry it) or `BEGIN RSA PRIVATE KEY` (PKCS#1).
fn rsa_pkcs1_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let pem = pem.replace("\\n", "\n");
    let pkcs8 = pem.contains("BEGIN PRIVATE KEY");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| anyhow::anyhow!("notify.fcm.private_key is not PEM: {e}"))?;
    if !pkcs8 {
        return Ok(der);
    }
    // PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE, privateKey OCTET STRING }
    let bad = || anyhow::anyhow!("notify.fcm.private_key is not a PKCS#8 RSA key");
    let (tag, outer, _) = der_element(&der).ok_or_else(bad)?;
    if tag != 0x30 {
        return Err(bad());
    }
    let (tag, _, rest) = der_element(outer).ok_or_else(bad)?;
    if tag != 0x02 {
        return Err(bad());
    }
    let (tag, _, rest) = der_element(rest).ok_or_else(bad)?;
    if tag != 0x30 {
        return Err(bad());
    }
    let (tag, key, _) = der_element(rest).ok_or_else(bad)?;
    if tag != 0x04 {
        return Err(bad());
    }
    Ok(key.to_vec())
}

/// One DER element: `(tag, contents, what follows)`.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[async_trait]
impl PushSender for FcmSender {
    async fn send(&self, message: &PushMessage) -> anyhow::Result<PushOutcome> {
        let mut backoff = self.initial_backoff;
        let mut attempt = 1;
        loop {
            match self.attempt(message).await {
                Ok(outcome) => {
                    let label = if outcome == PushOutcome::Sent { "sent" } else { "unregistered" };
                    metrics::counter!("notify_push_total", "outcome" => label).increment(1);
                    return Ok(outcome);
                }
                Err(Failure::Give(error)) => {
                    metrics::counter!("notify_push_total", "outcome" => "failed").increment(1);
                    return Err(error);
                }
                Err(Failure::Retry { after, error }) => {
                    if attempt >= self.max_attempts {
                        metrics::counter!("notify_push_total", "outcome" => "failed").increment(1);
                        return Err(error.context(format!("gave up after {attempt} attempts")));
                    }
                    metrics::counter!("notify_push_retries_total").increment(1);
                    tracing::debug!(attempt, error = %format!("{error:#}"), "FCM push failed; retrying");
                    // Retry-After wins, capped so a handler never sleeps for minutes.
                    let wait = after.unwrap_or(backoff).min(Duration::from_secs(30));
                    tokio::time::sleep(wait).await;
                    backoff = backoff.saturating_mul(2);
                    attempt += 1;
                }
            }
        }
    }
}
