//! The account rules: signup, verification, login with lock-out, refresh-token rotation
//! with reuse detection, password changes and resets, and the `AccountService` contract.

use crate::error::AccountError;
use crate::model::{Account, DisplayName, EmailAddress, Password, Phone};
use crate::password::PasswordHasher;
use crate::repo::{self, NewAccountRow, TokenPurpose};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use contracts::account::{AccountContact, AccountService, ProfileQuery, PublicProfile};
use contracts::{Page, Role, ServiceError};
use platform::auth::Jwt;
use platform::cache::SharedCache;
use platform::clock::SharedClock;
use platform::config::AuthSettings;
use platform::crypto::{random_token, sha256_hex};
use platform::db::OnDuplicate;
use platform::db::{Db, DbError};
use platform::mailer::{Email, MAIL_TOPIC};
use platform::outbox::Outbox;
use platform::pubsub::SharedPubSub;
use platform::suspension::Suspensions;
use serde::Serialize;
use utoipa::ToSchema;

/// What signup needs, already validated.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: EmailAddress,
    pub password: Password,
    pub name: DisplayName,
    pub role: Role,
    pub phone: Option<Phone>,
}

/// The answer to login and refresh.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoginResult {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub account: Account,
}

/// Emails asking for a link (verification, reset) per address per hour, beyond which the
/// request is silently dropped: the endpoint must not become a way to flood an inbox.
const MAIL_REQUESTS_PER_HOUR: i64 = 5;

platform::service_struct! {
    pub struct Accounts {
        db: Db,
        outbox: Outbox,
        cache: SharedCache,
        clock: SharedClock,
        jwt: Jwt,
        hasher: PasswordHasher,
        settings: AuthSettings,
        // The web app's address for the links in emails; a trailing `/` is ignored there.
        public_url: String,
        suspensions: Suspensions,
        pubsub: SharedPubSub,
    }
}

impl Accounts {
    /// This instance's in-memory list of suspended accounts.
    pub fn suspensions(&self) -> &Suspensions {
        &self.suspensions
    }

    pub(crate) fn pubsub(&self) -> &SharedPubSub {
        &self.pubsub
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    fn verification_email(&self, name: &str, token: &str) -> Email {
        Email {
            to: String::new(),
            subject: "Verify your email address".into(),
            text: format!(
                "Hello {name},\n\nconfirm your email address by opening this link within 24 hours:\n\n\
                 {url}/verify-email?token={token}\n\n\
                 or by sending this token to POST /api/v1/auth/verify-email:\n\ntoken: {token}\n\n\
                 If you did not sign up, ignore this email.\n",
                url = self.public_url.trim_end_matches('/')
            ),
        }
    }

    fn reset_email(&self, name: &str, token: &str) -> Email {
        Email {
            to: String::new(),
            subject: "Reset your password".into(),
            text: format!(
                "Hello {name},\n\nsomeone asked to reset the password of this account. If it was you, choose a \
                 new password within an hour by opening this link:\n\n{url}/reset-password?token={token}\n\n\
                 or by sending this token with your new password to POST /api/v1/auth/password-reset/confirm:\n\n\
                 token: {token}\n\nIf it was not you, ignore this email; your password is unchanged.\n",
                url = self.public_url.trim_end_matches('/')
            ),
        }
    }

    #[tracing::instrument(skip_all, fields(role = %new.role))]
    pub async fn signup(&self, new: NewAccount) -> Result<Account, AccountError> {
        self.create(new, false).await
    }

    /// Creates an admin (CLI only); its email counts as verified.
    pub async fn create_admin(
        &self,
        email: EmailAddress,
        password: Password,
        name: DisplayName,
    ) -> Result<Account, AccountError> {
        self.create(NewAccount { email, password, name, role: Role::Admin, phone: None }, true).await
    }

    /// A verified account with this email: created, or the existing one (`false`) — for
    /// operator tools such as `app seed-demo`, never for sign-ups.
    pub async fn ensure_verified(&self, new: NewAccount) -> Result<(Account, bool), AccountError> {
        let email = new.email.as_str().to_string();
        match self.create(new, true).await {
            Ok(account) => Ok((account, true)),
            Err(AccountError::EmailTaken) => {
                let existing = self.db.run(move |conn| repo::find_by_email(conn, &email)).await?;
                existing.map(|row| (row.into_account(), false)).ok_or(AccountError::NotFound)
            }
            Err(e) => Err(e),
        }
    }

    async fn create(&self, new: NewAccount, verified: bool) -> Result<Account, AccountError> {
        let password_hash = self.hasher.hash(new.password.expose()).await?;
        let token = random_token().map_err(|e| anyhow::anyhow!("random: {e}"))?;
        let now = self.clock.now();
        let expires = now + Duration::seconds(self.settings.verification_ttl_secs);
        let mut email = self.verification_email(new.name.as_str(), &token);
        email.to = new.email.as_str().to_string();
        let outbox = self.outbox.clone();
        let account = self
            .db
            .tx(move |conn| {
                let row = NewAccountRow {
                    email: new.email.as_str(),
                    password_hash: &password_hash,
                    name: new.name.as_str(),
                    name_lower: &new.name.lowered(),
                    role: new.role,
                    phone: new.phone.as_ref().map(Phone::as_str),
                    email_verified: verified,
                    now,
                };
                let id = repo::insert_account(conn, &row).on_duplicate(|| AccountError::EmailTaken)?;
                if !verified {
                    repo::insert_email_token(
                        conn,
                        id,
                        TokenPurpose::VerifyEmail,
                        &sha256_hex(token.as_bytes()),
                        expires,
                        now,
                    )?;
                    outbox.enqueue(
                        conn,
                        now,
                        MAIL_TOPIC,
                        &email,
                        Some(&format!("verify-{id}-{}", &sha256_hex(token.as_bytes())[..12])),
                    )?;
                }
                repo::find_by_id(conn, id)?.ok_or(AccountError::NotFound)
            })
            .await?;
        self.outbox.wake();
        tracing::info!(account_id = account.id, "account created");
        Ok(account.into_account())
    }

    pub async fn verify_email(&self, token: &str) -> Result<Account, AccountError> {
        let hash = sha256_hex(token.as_bytes());
        let now = self.clock.now();
        let row = self
            .db
            .tx(move |conn| {
                let account_id = repo::consume_email_token(conn, TokenPurpose::VerifyEmail, &hash, now)?
                    .ok_or(AccountError::InvalidEmailToken)?;
                repo::set_verified(conn, account_id, now)?;
                repo::find_by_id(conn, account_id)?.ok_or(AccountError::InvalidEmailToken)
            })
            .await?;
        Ok(row.into_account())
    }

    /// Whether another link email may go to this address now (fails open without a cache).
    async fn may_send_link(&self, purpose: &str, email: &str) -> bool {
        let key = format!("mail_limit:{purpose}:{email}");
        match self.cache.incr(&key, std::time::Duration::from_secs(3600)).await {
            Ok(n) => n <= MAIL_REQUESTS_PER_HOUR,
            Err(e) => {
                tracing::warn!(error = %e, "cache unavailable; not limiting link emails");
                true
            }
        }
    }

    /// Always succeeds from the caller's view: whether the address exists is not revealed.
    pub async fn resend_verification(&self, raw_email: &str) -> Result<(), AccountError> {
        let Ok(email) = EmailAddress::parse(raw_email) else { return Ok(()) };
        let address = email.as_str().to_string();
        let found = self.db.run(move |conn| repo::find_by_email(conn, &address)).await?;
        let Some(account) = found.filter(|a| !a.email_verified) else { return Ok(()) };
        if !self.may_send_link("verify", email.as_str()).await {
            return Ok(());
        }
        self.send_link(account.id, account.email, &account.name, TokenPurpose::VerifyEmail).await
    }

    async fn send_link(
        &self,
        account_id: i64,
        to: String,
        name: &str,
        purpose: TokenPurpose,
    ) -> Result<(), AccountError> {
        let token = random_token().map_err(|e| anyhow::anyhow!("random: {e}"))?;
        let now = self.clock.now();
        let (ttl, mut email) = match purpose {
            TokenPurpose::VerifyEmail => (self.settings.verification_ttl_secs, self.verification_email(name, &token)),
            TokenPurpose::ResetPassword => (self.settings.reset_ttl_secs, self.reset_email(name, &token)),
        };
        email.to = to;
        let expires = now + Duration::seconds(ttl);
        let hash = sha256_hex(token.as_bytes());
        let outbox = self.outbox.clone();
        self.db
            .tx(move |conn| {
                repo::insert_email_token(conn, account_id, purpose, &hash, expires, now)?;
                outbox.enqueue(conn, now, MAIL_TOPIC, &email, Some(&format!("token-{}", &hash[..16])))?;
                Ok::<_, AccountError>(())
            })
            .await?;
        self.outbox.wake();
        Ok(())
    }

    fn failure_key(email: &str) -> String {
        format!("login_fail:{email}")
    }

    #[tracing::instrument(skip_all)]
    pub async fn login(&self, raw_email: &str, password: &str) -> Result<LoginResult, AccountError> {
        // A malformed email is just a wrong login: same answer, same work.
        let email = EmailAddress::parse(raw_email).ok();
        let key = Self::failure_key(email.as_ref().map(EmailAddress::as_str).unwrap_or(raw_email));
        let max = self.settings.login_max_failures.max(1);
        match self.cache.get(&key).await {
            Ok(Some(n)) if n.parse::<i64>().unwrap_or(0) >= max => {
                let retry = self.cache.ttl(&key).await.ok().flatten().map(|d| d.as_secs().max(1));
                return Err(AccountError::LockedOut {
                    retry_after_secs: retry.unwrap_or(self.settings.login_lockout_secs),
                });
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cache unavailable; login failures not counted"),
        }
        let row = match &email {
            Some(email) => {
                let address = email.as_str().to_string();
                self.db.run(move |conn| repo::find_by_email(conn, &address)).await?
            }
            None => None,
        };
        let ok = self.hasher.verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await?;
        let Some(row) = row.filter(|_| ok) else {
            let lockout = std::time::Duration::from_secs(self.settings.login_lockout_secs);
            if let Err(e) = self.cache.incr(&key, lockout).await {
                tracing::warn!(error = %e, "cache unavailable; login failure not counted");
            }
            return Err(AccountError::InvalidCredentials);
        };
        if self.settings.require_verified_email && !row.email_verified {
            return Err(AccountError::EmailNotVerified);
        }
        // Only after the password matched: who is suspended is not revealed to strangers.
        let now = self.clock.now();
        let account_id = row.id;
        if self.db.run(move |conn| crate::suspension::is_suspended(conn, account_id, now)).await? {
            return Err(AccountError::Suspended);
        }
        if let Err(e) = self.cache.delete(&key).await {
            tracing::debug!(error = %e, "could not reset login failures");
        }
        let family = uuid::Uuid::new_v4().simple().to_string();
        self.issue(row.into_account(), family).await
    }

    /// A new access token plus a new refresh token in `family`.
    async fn issue(&self, account: Account, family: String) -> Result<LoginResult, AccountError> {
        let access = self.jwt.issue(account.id, account.role).map_err(|e| anyhow::anyhow!("{e}"))?;
        let refresh = random_token().map_err(|e| anyhow::anyhow!("random: {e}"))?;
        let now = self.clock.now();
        let expires = now + Duration::seconds(self.settings.refresh_ttl_secs);
        let hash = sha256_hex(refresh.as_bytes());
        let account_id = account.id;
        self.db.tx(move |conn| repo::insert_refresh_token(conn, account_id, &family, &hash, expires, now)).await?;
        Ok(LoginResult {
            access_token: access.token,
            refresh_token: refresh,
            token_type: "Bearer".into(),
            expires_in: access.expires_in,
            account,
        })
    }

    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, token: &str) -> Result<LoginResult, AccountError> {
        let hash = sha256_hex(token.as_bytes());
        let now = self.clock.now();
        enum Outcome {
            Rotated(repo::AccountRow, String),
            Reused(String),
        }
        let outcome = self
            .db
            .tx(move |conn| {
                let row = repo::find_refresh_token(conn, &hash)?.ok_or(AccountError::InvalidRefreshToken)?;
                if row.revoked_at.is_some() {
                    return Err(AccountError::InvalidRefreshToken);
                }
                if row.rotated_at.is_some() || !repo::mark_rotated(conn, row.id, now)? {
                    return Ok(Outcome::Reused(row.family));
                }
                if platform::clock::from_db(row.expires_at) <= now {
                    return Err(AccountError::RefreshTokenExpired);
                }
                let account = repo::find_by_id(conn, row.account_id)?.ok_or(AccountError::InvalidRefreshToken)?;
                // Suspension revokes every refresh token; this covers one issued meanwhile.
                if crate::suspension::is_suspended(conn, account.id, now)? {
                    return Err(AccountError::InvalidRefreshToken);
                }
                Ok(Outcome::Rotated(account, row.family))
            })
            .await?;
        match outcome {
            Outcome::Rotated(account, family) => self.issue(account.into_account(), family).await,
            Outcome::Reused(family) => {
                // A rotated token came back: it was stolen, or the client is confused. Either
                // way no token of this session may be trusted any more.
                tracing::warn!(%family, "refresh token reuse detected; revoking the session");
                self.db.tx(move |conn| repo::revoke_family(conn, &family, now)).await?;
                Err(AccountError::InvalidRefreshToken)
            }
        }
    }

    /// Ends the session of this refresh token; unknown tokens are ignored.
    pub async fn logout(&self, token: &str) -> Result<(), AccountError> {
        let hash = sha256_hex(token.as_bytes());
        let now = self.clock.now();
        self.db
            .tx(move |conn| {
                if let Some(row) = repo::find_refresh_token(conn, &hash)? {
                    repo::revoke_family(conn, &row.family, now)?;
                }
                Ok::<_, AccountError>(())
            })
            .await
    }

    pub async fn request_password_reset(&self, raw_email: &str) -> Result<(), AccountError> {
        let Ok(email) = EmailAddress::parse(raw_email) else { return Ok(()) };
        let address = email.as_str().to_string();
        let Some(account) = self.db.run(move |conn| repo::find_by_email(conn, &address)).await? else {
            return Ok(());
        };
        if !self.may_send_link("reset", email.as_str()).await {
            return Ok(());
        }
        self.send_link(account.id, account.email, &account.name, TokenPurpose::ResetPassword).await
    }

    pub async fn confirm_password_reset(&self, token: &str, new_password: Password) -> Result<(), AccountError> {
        let hash = sha256_hex(token.as_bytes());
        // Hash first: the token is only spent in the transaction that also sets the password.
        let password_hash = self.hasher.hash(new_password.expose()).await?;
        let now = self.clock.now();
        self.db
            .tx(move |conn| {
                let account_id = repo::consume_email_token(conn, TokenPurpose::ResetPassword, &hash, now)?
                    .ok_or(AccountError::InvalidEmailToken)?;
                repo::set_password(conn, account_id, &password_hash, now)?;
                // The reset link reached the inbox: the address is proven.
                repo::set_verified(conn, account_id, now)?;
                repo::revoke_all_sessions(conn, account_id, now)?;
                Ok::<_, AccountError>(())
            })
            .await
    }

    pub async fn get(&self, id: i64) -> Result<Account, AccountError> {
        let row = self.db.run(move |conn| repo::find_by_id(conn, id)).await?;
        row.map(repo::AccountRow::into_account).ok_or(AccountError::NotFound)
    }

    pub async fn update_profile(
        &self,
        id: i64,
        name: Option<DisplayName>,
        phone: Option<Option<Phone>>,
    ) -> Result<Account, AccountError> {
        let now = self.clock.now();
        let row = self
            .db
            .tx(move |conn| {
                let lowered = name.as_ref().map(DisplayName::lowered);
                let name_pair = name.as_ref().map(DisplayName::as_str).zip(lowered.as_deref());
                let phone = phone.as_ref().map(|p| p.as_ref().map(Phone::as_str));
                repo::update_profile(conn, id, name_pair, phone, now)?;
                repo::find_by_id(conn, id)?.ok_or(AccountError::NotFound)
            })
            .await?;
        Ok(row.into_account())
    }

    pub async fn change_password(&self, id: i64, current: &str, new_password: Password) -> Result<(), AccountError> {
        let row = self.db.run(move |conn| repo::find_by_id(conn, id)).await?.ok_or(AccountError::NotFound)?;
        if !self.hasher.verify(current, Some(&row.password_hash)).await? {
            return Err(AccountError::WrongCurrentPassword);
        }
        let password_hash = self.hasher.hash(new_password.expose()).await?;
        let now = self.clock.now();
        self.db
            .tx(move |conn| {
                repo::set_password(conn, id, &password_hash, now)?;
                repo::revoke_all_sessions(conn, id, now)?;
                Ok::<_, AccountError>(())
            })
            .await
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

fn service_error(err: AccountError) -> ServiceError {
    match err {
        AccountError::Db(e) => e.into(),
        other => ServiceError::Internal(other.to_string()),
    }
}

#[async_trait]
impl AccountService for Accounts {
    async fn profile(&self, id: i64) -> Result<Option<PublicProfile>, ServiceError> {
        let row = self.db.run(move |conn| repo::find_by_id(conn, id)).await.map_err(ServiceError::from)?;
        Ok(row.map(|r| r.into_account().profile()))
    }

    async fn profiles(&self, ids: &[i64]) -> Result<Vec<PublicProfile>, ServiceError> {
        let ids = ids.to_vec();
        let rows = self.db.run(move |conn| repo::find_many(conn, &ids)).await.map_err(ServiceError::from)?;
        Ok(rows.into_iter().map(|r| r.into_account().profile()).collect())
    }

    async fn search_profiles(&self, query: ProfileQuery) -> Result<Page<PublicProfile>, ServiceError> {
        let page = query.page;
        let (rows, total) = self
            .db
            .run(move |conn| {
                let q = query.name_contains.as_deref().map(str::trim).filter(|q| !q.is_empty());
                repo::search(conn, q, query.role, &query.exclude_roles, query.page)
            })
            .await
            .map_err(|e: DbError| service_error(e.into()))?;
        Ok(Page::new(rows.into_iter().map(|r| r.into_account().profile()).collect(), page, total))
    }

    async fn contact(&self, id: i64) -> Result<Option<AccountContact>, ServiceError> {
        let row = self.db.run(move |conn| repo::find_by_id(conn, id)).await.map_err(ServiceError::from)?;
        Ok(row.map(|r| AccountContact { id: r.id, name: r.name, email: r.email }))
    }

    async fn contacts(&self, ids: &[i64]) -> Result<Vec<AccountContact>, ServiceError> {
        let mut contacts = Vec::with_capacity(ids.len());
        // Chunks keep each IN list (and bound parameter count) moderate.
        for chunk in ids.chunks(1000) {
            let chunk = chunk.to_vec();
            let rows = self.db.run(move |conn| repo::find_many(conn, &chunk)).await.map_err(ServiceError::from)?;
            contacts.extend(rows.into_iter().map(|r| AccountContact { id: r.id, name: r.name, email: r.email }));
        }
        Ok(contacts)
    }
}
