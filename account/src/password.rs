//! argon2id with OWASP's parameters (19 MiB, t=2, p=1) on a dedicated pool of
//! `auth.hash_concurrency` threads. A fixed pool, not the shared blocking pool: each thread
//! that ever hashed keeps ~19 MiB in its malloc arena, so hashing on whichever of dozens of
//! blocking threads was free grew the process past 1 GiB under a login burst.
//!
//! Each pool thread also keeps one memory block for its hashes and reuses it
//! ([`Argon2::hash_password_into_with_memory`]): allocating 19 MiB per hash let glibc's
//! growing mmap threshold move those buffers into the heap, where they stayed (414 MiB
//! after 1,000 signups). The PHC string is built from the crate's own types, so stored
//! hashes read exactly as before.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    /// The hashing pool thread's reusable argon2 memory (`m` blocks of 1 KiB).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Hashes `password` with `salt` into `out`, on this thread's reusable memory.
fn hash_into(argon2: &Argon2<'_>, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> anyhow::Result<()> {
    BLOCKS
        .with_borrow_mut(|blocks| {
            // Same size every time with one set of parameters: no reallocation after the first.
            blocks.resize(params.block_count(), Block::new());
            argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..])
        })
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// A new PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with OWASP's parameters.
fn hash_new(password: &[u8]) -> anyhow::Result<String> {
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = Salt::generate();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    hash_into(&argon2, &params, password, &salt, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("argon2: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash` (with the parameters it names).
fn verify_phc(password: &[u8], hash: &str) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else { return false };
    let Ok(version) = phc.version.map(Version::try_from).transpose() else { return false };
    let Ok(params) = Params::try_from(&phc) else { return false };
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
    let mut out = vec![0u8; expected.len()];
    if hash_into(&argon2, &params, password, salt, &mut out).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(&out).is_ok_and(|computed| &computed == expected)
}

/// Verified against when the email is unknown, so that both failures take as long: a hash,
/// with [`Params::default`], of a random password nobody kept. A constant rather than hashed
/// at start-up, where the starting thread kept the 19 MiB work memory of that one hash for
/// good (a third of the idle process).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$tDeiwqLwpiOcyvJyihWJMA$uyzU4ukHWqSSNdjs48mDCdQ4Se++bj8rA/R8H4jb0xY";

#[derive(Clone)]
pub struct PasswordHasher {
    pool: Arc<rayon::ThreadPool>,
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
        Ok(PasswordHasher { pool: Arc::new(pool) })
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
        self.run(move || hash_new(password.as_bytes())).await?
    }

    /// `false` for a wrong password, and for `hash: None` after the same amount of work.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or(DUMMY_HASH).to_string();
        let password = password.to_string();
        let matches = self.run(move || verify_phc(password.as_bytes(), &hash)).await?;
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

    /// An unknown email costs one hash with today's parameters, like a known one.
    #[test]
    fn the_dummy_hash_has_the_parameters_new_hashes_get() {
        let phc = PasswordHash::new(DUMMY_HASH).unwrap();
        let (theirs, ours) = (Params::try_from(&phc).unwrap(), Params::default());
        assert_eq!((theirs.m_cost(), theirs.t_cost(), theirs.p_cost()), (ours.m_cost(), ours.t_cost(), ours.p_cost()));
        assert_eq!(phc.algorithm, Algorithm::Argon2id.ident());
        assert_eq!(phc.version, Some(Version::V0x13.into()));
        assert_eq!(phc.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
        assert!(!verify_phc(b"a password nobody has", DUMMY_HASH));
    }

    #[tokio::test]
    async fn hashes_agree_with_the_crates_own_hasher_and_verifier() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = PasswordHasher::new(1).unwrap();
        // Ours verifies with the crate's verifier…
        let ours = hasher.hash("correct horse").await.unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", ours.as_str()).is_ok());
        assert!(Argon2::default().verify_password(b"wrong horse", ours.as_str()).is_err());
        // …and hashes stored before (by the crate's hasher, other parameters too) still verify.
        let theirs = Argon2::default().hash_password(b"correct horse").unwrap().to_string();
        assert!(hasher.verify("correct horse", Some(&theirs)).await.unwrap());
        assert!(!hasher.verify("wrong horse", Some(&theirs)).await.unwrap());
        let cheap = Params::new(1024, 1, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, cheap).hash_password(b"pw").unwrap().to_string();
        assert!(hasher.verify("pw", Some(&other)).await.unwrap());
        assert!(!hasher.verify("pw", Some("not a phc string")).await.unwrap());
    }
}
