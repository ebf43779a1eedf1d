//! The emails the app wrote: without SMTP it writes one `.eml` file per email into the
//! test's mail directory (shared with its peers).

use super::spawn::TestApp;
use std::time::Duration;

/// An email, and the token in its `token: …` line (empty when it has none).
pub struct Email {
    pub text: String,
    pub token: String,
}

impl TestApp {
    /// The token of the newest email to `to` (waits for the outbox to send it).
    pub async fn email_token(&self, to: &str) -> String {
        self.wait_for_email(to, |_| true).await.token
    }

    /// Waits for the newest email to `to` whose text matches `filter`.
    pub async fn wait_for_email(&self, to: &str, filter: impl Fn(&str) -> bool) -> Email {
        let dir = self.mail_dir.clone();
        let to = to.to_lowercase();
        let found = platform::testkit::eventually(Duration::from_secs(10), || {
            let dir = dir.clone();
            let to = to.clone();
            let filter = &filter;
            async move {
                let mut files: Vec<_> = std::fs::read_dir(&dir).ok()?.flatten().map(|e| e.path()).collect();
                files.sort();
                files.into_iter().rev().find_map(|path| {
                    let text = std::fs::read_to_string(&path).ok()?.replace("\r\n", "\n");
                    if !text.contains(&format!("To: {to}")) || !filter(&text) {
                        return None;
                    }
                    let token = text.lines().find_map(|l| l.strip_prefix("token: ")).unwrap_or("").trim().to_string();
                    Some(Email { text, token })
                })
            }
        })
        .await;
        found.unwrap_or_else(|| panic!("no email to {to}"))
    }

    /// The texts of every email to `to` so far.
    pub fn emails_to(&self, to: &str) -> Vec<String> {
        let to = format!("To: {}", to.to_lowercase());
        std::fs::read_dir(&self.mail_dir)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .map(|t| t.replace("\r\n", "\n"))
                    .filter(|t| t.contains(&to))
                    .collect()
            })
            .unwrap_or_default()
    }
}
