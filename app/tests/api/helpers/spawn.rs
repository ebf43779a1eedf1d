//! Starting apps: each on a random port against fresh databases, a Redis prefix and a mail
//! directory of its own, on a clock the test can move.

use super::client::Client;
use actix_web::dev::ServerHandle;
use app::{Application, Modules, Overrides, WalletWrapper};
use payment::gateway::PaymentGateway;
use platform::clock::OffsetClock;
use platform::config::{LoadOptions, Settings};
use platform::testkit::{TestDatabase, redis_url, unique_suffix};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A running app and the handles to look inside it.
pub struct TestApp {
    /// Declared first so it stops before the databases and directories below go away.
    server: Server,
    /// The anonymous client (`app.get(...)`).
    client: Client,
    pub address: String,
    pub clock: Arc<OffsetClock>,
    /// When the app started, on its clock (a stable base for deadlines).
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub assembled: Arc<Modules>,
    pub mail_dir: PathBuf,
    /// The settings it was started with, so a second instance can share its databases.
    load: LoadOptions,
    _tmp: tempfile::TempDir,
    _dbs: Vec<TestDatabase>,
}

#[derive(Default)]
pub struct TestOptions {
    pub settings: Vec<(String, String)>,
    pub gateway: Option<Arc<dyn PaymentGateway>>,
    pub payout_gateway: Option<Arc<dyn payment::payouts::gateway::PayoutGateway>>,
    /// `Some(url)` forces a Redis URL (e.g. a dead one); `None` uses `TEST_REDIS_URL`.
    pub redis_url: Option<String>,
    /// Wraps the wallet service the other modules use (fault injection).
    pub wallet_wrapper: Option<WalletWrapper>,
    /// Wraps each feed provider (counting calls, hanging).
    pub feed_provider_wrapper: Option<feed::ProviderWrapper>,
    /// Replaces the push sender (counting pushes).
    pub push: Option<Arc<dyn notify::PushSender>>,
}

impl TestOptions {
    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.settings.push((key.to_string(), value.to_string()));
        self
    }
}

pub fn migrations() -> Vec<&'static platform::db::Migrations> {
    vec![
        &account::MIGRATIONS,
        &payment::MIGRATIONS,
        &order::MIGRATIONS,
        &chat::MIGRATIONS,
        &mission::MIGRATIONS,
        &feed::MIGRATIONS,
        &notify::MIGRATIONS,
        &moderation::MIGRATIONS,
    ]
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default()).await
}

pub async fn spawn_app_with(options: TestOptions) -> TestApp {
    let sets = migrations();
    let split = std::env::var("TEST_SPLIT_ACCOUNT_DB").is_ok_and(|v| v == "1");
    let (dbs, main_url, account_url) = tokio::task::spawn_blocking(move || {
        let main = TestDatabase::create(&sets);
        let account = split.then(|| TestDatabase::create(&sets));
        let main_url = main.url().to_string();
        let account_url = account.as_ref().map(|d| d.url().to_string()).unwrap_or_default();
        (vec![Some(main), account].into_iter().flatten().collect::<Vec<_>>(), main_url, account_url)
    })
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mail_dir = tmp.path().join("mail");
    let redis = options.redis_url.clone().or_else(redis_url).unwrap_or_default();
    let mut load = LoadOptions::default()
        .with("server.bind", "127.0.0.1:0")
        .with("server.workers", "2")
        .with("database.url", &main_url)
        .with("database.max_connections", "6")
        .with("database.min_idle", "0")
        .with("account.database_url", &account_url)
        .with("redis.url", &redis)
        .with("redis.key_prefix", format!("t{}:", unique_suffix()))
        .with("mail.dir", mail_dir.to_string_lossy())
        .with("outbox.poll_interval_ms", "50")
        .with("rate_limit.auth_per_second", "10000")
        .with("rate_limit.auth_burst", "10000")
        .with("log.level", "warn");
    for (k, v) in &options.settings {
        load = load.with(k, v);
    }
    let server = Server::start(load.clone(), options).await;
    TestApp::new(server, load, mail_dir, tmp, dbs)
}

/// A second instance on the same databases, Redis prefix and mail directory (another
/// "process" behind the load balancer). Its own clock, dispatchers and sockets.
pub async fn spawn_peer(first: &TestApp) -> TestApp {
    let server = Server::start(first.load.clone(), TestOptions::default()).await;
    TestApp::new(server, first.load.clone(), first.mail_dir.clone(), tempfile::tempdir().unwrap(), Vec::new())
}

impl TestApp {
    fn new(
        server: Server,
        load: LoadOptions,
        mail_dir: PathBuf,
        tmp: tempfile::TempDir,
        dbs: Vec<TestDatabase>,
    ) -> Self {
        let address = format!("http://127.0.0.1:{}", server.port);
        TestApp {
            client: Client::anonymous(&address),
            address,
            started_at: platform::clock::Clock::now(&*server.clock),
            clock: server.clock.clone(),
            assembled: server.assembled.clone(),
            mail_dir,
            load,
            server,
            _tmp: tmp,
            _dbs: dbs,
        }
    }

    pub(super) fn anonymous(&self) -> &Client {
        &self.client
    }

    pub fn lifecycle(&self) -> Arc<app::Lifecycle> {
        self.server.lifecycle.clone()
    }

    /// Stops the background workers (outbox dispatchers, sweeps), as if they crashed.
    pub fn stop_workers(&self) {
        self.server.workers.cancel();
    }
}

/// What starting an app hands back: the server's handles, and the thread it runs on.
struct Server {
    port: u16,
    assembled: Arc<Modules>,
    handle: ServerHandle,
    workers: CancellationToken,
    lifecycle: Arc<app::Lifecycle>,
    clock: Arc<OffsetClock>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    async fn start(load: LoadOptions, options: TestOptions) -> Server {
        let settings = Settings::load(load).unwrap();
        super::logs::install();
        platform::telemetry::init(&std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into()), false);
        let clock = OffsetClock::new();
        let overrides = Overrides {
            clock: Some(clock.clone()),
            gateway: options.gateway.clone(),
            payout_gateway: options.payout_gateway.clone(),
            mailer: None,
            wallet_wrapper: options.wallet_wrapper.clone(),
            feed_provider_wrapper: options.feed_provider_wrapper.clone(),
            push: options.push.clone(),
        };
        // Each app runs in its own thread and actix System, like a separate process: dropping
        // the TestApp stops it completely.
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::with_tokio_rt(|| {
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
            });
            system.block_on(async move {
                match Application::build(settings, overrides).await {
                    Ok(app) => {
                        let _ =
                            tx.send(Ok((app.port(), app.assembled(), app.handle(), app.workers(), app.lifecycle())));
                        let server = app.spawn();
                        let _ = server.await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(format!("{e:#}")));
                    }
                }
            });
        });
        let (port, assembled, handle, workers, lifecycle) =
            tokio::task::spawn_blocking(move || rx.recv().unwrap()).await.unwrap().expect("app failed to start");
        Server { port, assembled, handle, workers, lifecycle, clock, thread: Some(thread) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.workers.cancel();
        // Sends the stop command now; the app's own runtime carries it out.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
