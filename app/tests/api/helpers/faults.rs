//! Fault injection: a wallet service that "crashes" around chosen transfers, and a Redis
//! server of the test's own to stop and restart.

use app::WalletWrapper;
use async_trait::async_trait;
use contracts::ServiceError;
use contracts::wallet::{CancelOutcome, TransferReceipt, TransferRequest, WalletError, WalletRef, WalletService};
use std::sync::Arc;
use std::time::Duration;

/// Where a transfer's request dies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Crash {
    /// Before the transfer is applied: nothing moved.
    Before,
    /// Right after it was applied: the money moved, the caller sees a failure.
    After,
}

/// Decides, transfer by transfer, whether the request crashes around it.
pub trait TransferFaults: Send + Sync + 'static {
    fn crash(&self, request: &TransferRequest) -> Option<Crash>;
}

/// For `TestOptions::wallet_wrapper`: the app's wallet service, with `faults` deciding which
/// transfers crash. Everything else passes through.
pub fn faulty_wallet(faults: Arc<impl TransferFaults>) -> WalletWrapper {
    Arc::new(move |inner| Arc::new(FaultyWallet { inner, faults: faults.clone() }))
}

/// The error a crashed request reports.
pub fn injected_crash() -> WalletError {
    WalletError::Service(ServiceError::Unavailable("injected crash".into()))
}

struct FaultyWallet<F> {
    inner: Arc<dyn WalletService>,
    faults: Arc<F>,
}

#[async_trait]
impl<F: TransferFaults> WalletService for FaultyWallet<F> {
    async fn balance(&self, wallet: &WalletRef) -> Result<i64, WalletError> {
        self.inner.balance(wallet).await
    }

    async fn transfer(&self, request: TransferRequest) -> Result<TransferReceipt, WalletError> {
        match self.faults.crash(&request) {
            Some(Crash::Before) => Err(injected_crash()),
            Some(Crash::After) => {
                self.inner.transfer(request).await?;
                Err(injected_crash())
            }
            None => self.inner.transfer(request).await,
        }
    }

    async fn find_transfer(&self, key: &str) -> Result<Option<TransferReceipt>, WalletError> {
        self.inner.find_transfer(key).await
    }

    async fn cancel(&self, key: &str) -> Result<CancelOutcome, WalletError> {
        self.inner.cancel(key).await
    }
}

/// A Redis server of the test's own (on a free port), so it can be stopped and restarted
/// without disturbing other tests.
pub struct PrivateRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    /// `None` when `redis-server` is not installed.
    pub fn start() -> Option<PrivateRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let mut redis = PrivateRedis { port, child: None };
        redis.restart().ok()?;
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()?;
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(std::io::Error::other("redis-server did not start"))
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
