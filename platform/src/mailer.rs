//! Outgoing email: SMTP when `mail.smtp_url` is set, else one `.eml` file per message in
//! `mail.dir`. Modules never send directly: they enqueue [`MAIL_TOPIC`] outbox rows in the
//! same transaction as the change that causes the email, and [`MailHandler`] sends them.

use crate::config::MailSettings;
use crate::outbox::{OutboxHandler, OutboxMessage};
use anyhow::Context;
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The outbox topic whose payload is an [`Email`].
pub const MAIL_TOPIC: &str = "mail.send";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// `message_id` is stable across retries of the same email, so a resend can be
    /// recognised (and, for files, overwrites instead of duplicating).
    async fn send(&self, email: &Email, message_id: &str) -> anyhow::Result<()>;
}

pub type SharedMailer = Arc<dyn Mailer>;

pub fn from_settings(settings: &MailSettings) -> anyhow::Result<SharedMailer> {
    let from: Mailbox = settings.from.parse().context("mail.from is not a valid mailbox")?;
    let url = settings.smtp_url.expose().trim();
    if url.is_empty() {
        Ok(Arc::new(FileMailer::new(&settings.dir, from)))
    } else {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("mail.smtp_url")?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        Ok(Arc::new(SmtpMailer { transport, from }))
    }
}

fn build(from: &Mailbox, email: &Email, message_id: &str) -> anyhow::Result<Message> {
    let to: Mailbox = email.to.parse().with_context(|| format!("bad recipient {}", email.to))?;
    Ok(Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{message_id}@commerce-app>")))
        .header(ContentType::TEXT_PLAIN)
        .body(email.text.clone())?)
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email, message_id: &str) -> anyhow::Result<()> {
        let message = build(&self.from, email, message_id)?;
        self.transport.send(message).await.context("SMTP send")?;
        Ok(())
    }
}

/// Writes `<dir>/<message_id>.eml`; the walk-through in README reads tokens from these.
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: impl Into<PathBuf>, from: Mailbox) -> Self {
        FileMailer { dir: dir.into(), from }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &Email, message_id: &str) -> anyhow::Result<()> {
        let bytes = build(&self.from, email, message_id)?.formatted();
        let safe: String = message_id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            // Write then rename, so a reader never sees half a message.
            let tmp = dir.join(format!(".{safe}.tmp"));
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, dir.join(format!("{safe}.eml")))?;
            Ok(())
        })
        .await??;
        Ok(())
    }
}

/// Sends the [`MAIL_TOPIC`] rows of an outbox.
pub struct MailHandler {
    mailer: SharedMailer,
    /// Distinguishes the outboxes of different modules in message ids.
    origin: String,
}

impl MailHandler {
    pub fn new(mailer: SharedMailer, origin: &str) -> Self {
        MailHandler { mailer, origin: origin.to_string() }
    }
}

#[async_trait]
impl OutboxHandler for MailHandler {
    async fn handle(&self, message: &OutboxMessage) -> anyhow::Result<()> {
        let email: Email = serde_json::from_value(message.payload.clone()).context("mail payload")?;
        // Creation time first so that file names sort in sending order.
        let id = format!(
            "{}-{}-{}",
            message.created_at.format("%Y%m%dT%H%M%S%6f"),
            self.origin,
            message.dedupe_key.clone().unwrap_or_else(|| message.id.to_string())
        );
        self.mailer.send(&email, &id).await
    }
}
