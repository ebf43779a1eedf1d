//! argon2id with OWASP's parameters (19 MiB, t=2, p=1) on a dedicated pool of
//! `auth.hash_concurrency` threads. A fixed pool, not the shared blocking pool: each thread
//! that ever hashed keeps ~19 MiB in its malloc arena, so hashing on whichever of dozens of
//! blocking threads was free grew the process past 1 GiB under a login burst.

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use std::sync::Arc;

#[derive(Clone)]
pub struct PasswordHasher {
    pool: Arc<rayon::ThreadPool>,
    /// Verified against when the email is unknown, so that both failures take as long.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let threads = if concurrency == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
        } else {
            concurrency
        };
        let pool =
            rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("argon2-{i}")).build()?;
        let dummy = Argon2::default()
            .hash_password(b"a password nobody has")
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        Ok(PasswordHasher { pool: Arc::new(pool), dummy_hash: Arc::from(dummy) })
    }

    /// Runs `job` on the hashing pool, keeping the caller's tracing span.
    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        self.pool.spawn(move || {
            let _ = tx.send(span.in_scope(job));
        });
        Ok(rx.await?)
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = password.to_string();
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await?
    }

    /// `false` for a wrong password, and for `hash: None` after the same amount of work.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let hash = hash.map(str::to_string).unwrap_or_else(|| self.dummy_hash.to_string());
        let password = password.to_string();
        let matches =
            self.run(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok()).await?;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let hasher = PasswordHasher::new(1).unwrap();
        let hash = hasher.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("a password nobody has", None).await.unwrap());
    }
}
