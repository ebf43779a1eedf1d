//! Fault injection: a wallet service that "crashes" around chosen transfers, and a Redis
//! server of the test's own to stop and restart.

use super::spawn::{TestApp, TestOptions, spawn_app_with};
use app::WalletWrapper;
use async_trait::async_trait;
use contracts::ServiceError;
use contracts::wallet::{CancelOutcome, TransferReceipt, TransferRequest, WalletError, WalletRef, WalletService};
use std::sync::{Arc, Mutex};
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

/// Crashes the first transfer whose key contains the armed pattern, once.
#[derive(Default)]
pub struct CrashOnce {
    rule: Mutex<Option<(String, Crash)>>,
}

impl CrashOnce {
    pub fn arm(&self, pattern: &str, crash: Crash) {
        *self.rule.lock().unwrap() = Some((pattern.to_string(), crash));
    }

    /// Whether the armed crash happened.
    pub fn fired(&self) -> bool {
        self.rule.lock().unwrap().is_none()
    }
}

impl TransferFaults for CrashOnce {
    fn crash(&self, request: &TransferRequest) -> Option<Crash> {
        let mut rule = self.rule.lock().unwrap();
        match rule.as_ref() {
            Some((pattern, crash)) if request.idempotency_key.contains(pattern.as_str()) => {
                let crash = *crash;
                *rule = None;
                Some(crash)
            }
            _ => None,
        }
    }
}

/// An app whose wallet crashes as `CrashOnce` is armed; recovery is driven by the test
/// (after moving the clock), not by its timer.
pub async fn crash_once_app() -> (TestApp, Arc<CrashOnce>) {
    let faults = Arc::new(CrashOnce::default());
    let options = TestOptions {
        wallet_wrapper: Some(faulty_wallet(faults.clone())),
        settings: vec![("order.recovery_interval_ms".into(), "3600000".into())],
        ..Default::default()
    };
    (spawn_app_with(options).await, faults)
}

/// One `#[tokio::test]` per crash point: `name => (step, pattern, Before|After)` runs
/// `$run(step, pattern, Crash::…)`.
macro_rules! crash_point_tests {
    ($run:ident: $($name:ident => ($step:literal, $pattern:literal, $crash:ident),)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                $run($step, $pattern, Crash::$crash).await;
            }
        )*
    };
}
pub(crate) use crash_point_tests;

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
