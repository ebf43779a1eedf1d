use account::Account;
use actix_web::dev::ServerHandle;
use app::{Application, Assembled, Overrides, WalletWrapper};
use contracts::Role;
use payment::gateway::PaymentGateway;
use platform::clock::OffsetClock;
use platform::config::{LoadOptions, Settings};
use platform::testkit::{TestDatabase, redis_url, unique_suffix};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub clock: Arc<OffsetClock>,
    /// When the app started, on its clock (a stable base for deadlines).
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub assembled: Arc<Assembled>,
    pub mail_dir: PathBuf,
    handle: ServerHandle,
    workers: CancellationToken,
    lifecycle: Arc<app::Lifecycle>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The settings it was started with, so a second instance can share its databases.
    load: LoadOptions,
    _tmp: tempfile::TempDir,
    _dbs: Vec<TestDatabase>,
}

#[derive(Default)]
pub struct TestOptions {
    pub settings: Vec<(String, String)>,
    pub gateway: Option<Arc<dyn PaymentGateway>>,
    /// `Some(url)` forces a Redis URL (e.g. a dead one); `None` uses `TEST_REDIS_URL`.
    pub redis_url: Option<String>,
    /// Wraps the wallet service the other modules use (fault injection).
    pub wallet_wrapper: Option<WalletWrapper>,
    /// Wraps each feed provider (counting calls, hanging).
    pub feed_provider_wrapper: Option<feed::ProviderWrapper>,
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
    ]
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default()).await
}

/// A second instance on the same databases, Redis prefix and mail directory (another
/// "process" behind the load balancer). Its own clock, dispatchers and sockets.
pub async fn spawn_peer(first: &TestApp) -> TestApp {
    let tmp = tempfile::tempdir().unwrap();
    let (port, assembled, handle, workers, lifecycle, thread, clock) =
        start(first.load.clone(), TestOptions::default()).await;
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        started_at: platform::clock::Clock::now(&*clock),
        clock,
        assembled,
        mail_dir: first.mail_dir.clone(),
        handle,
        workers,
        lifecycle,
        thread: Some(thread),
        load: first.load.clone(),
        _tmp: tmp,
        _dbs: Vec::new(),
    }
}

type Started = (
    u16,
    Arc<Assembled>,
    ServerHandle,
    CancellationToken,
    Arc<app::Lifecycle>,
    std::thread::JoinHandle<()>,
    Arc<OffsetClock>,
);

async fn start(load: LoadOptions, options: TestOptions) -> Started {
    let settings = Settings::load(load).unwrap();
    platform::telemetry::init(&std::env::var("TEST_LOG").unwrap_or_else(|_| "error".into()), false);
    let clock = OffsetClock::new();
    let overrides = Overrides {
        clock: Some(clock.clone()),
        gateway: options.gateway.clone(),
        mailer: None,
        wallet_wrapper: options.wallet_wrapper.clone(),
        feed_provider_wrapper: options.feed_provider_wrapper.clone(),
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
                    let _ = tx.send(Ok((app.port(), app.assembled(), app.handle(), app.workers(), app.lifecycle())));
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
    (port, assembled, handle, workers, lifecycle, thread, clock)
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
    let (port, assembled, handle, workers, lifecycle, thread, clock) = start(load.clone(), options).await;
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        started_at: platform::clock::Clock::now(&*clock),
        clock,
        assembled,
        mail_dir,
        handle,
        workers,
        lifecycle,
        thread: Some(thread),
        load,
        _tmp: tmp,
        _dbs: dbs,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.workers.cancel();
        // Sends the stop command now; the app's own runtime carries it out.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub account: Account,
    pub id: i64,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
}

impl TestApp {
    pub fn lifecycle(&self) -> Arc<app::Lifecycle> {
        self.lifecycle.clone()
    }

    /// Stops the background workers (outbox dispatchers, sweeps), as if they crashed.
    pub fn stop_workers(&self) {
        self.workers.cancel();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.request(Method::GET, path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut req = self.request(Method::POST, path).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut req = self.request(Method::PUT, path).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut req = self.request(Method::PATCH, path).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn post_keyed(&self, path: &str, token: &str, key: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, email: &str, password: &str, name: &str, role: &str) -> Response {
        self.post(
            "/api/v1/auth/signup",
            None,
            &json!({"email": email, "password": password, "name": name, "role": role}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post("/api/v1/auth/login", None, &json!({"email": email, "password": password})).await
    }

    /// The token of the newest email to `to` (waits for the outbox to send it).
    pub async fn email_token(&self, to: &str) -> String {
        self.wait_for_email(to, |_| true).await.1
    }

    /// Waits for an email to `to` whose text matches `filter`; returns (text, token).
    pub async fn wait_for_email(&self, to: &str, filter: impl Fn(&str) -> bool) -> (String, String) {
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
                    Some((text, token))
                })
            }
        })
        .await;
        found.unwrap_or_else(|| panic!("no email to {to}"))
    }

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

    /// Signs up, verifies through the emailed token and logs in.
    pub async fn user(&self, role: Role) -> User {
        let email = format!("{}-{}@example.com", role.as_str(), unique_suffix().replace('_', "-"));
        let password = "correct horse battery".to_string();
        let res = self.signup(&email, &password, &format!("Test {}", role.as_str()), role.as_str()).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
        let token = self.email_token(&email).await;
        let res = self.post("/api/v1/auth/verify-email", None, &json!({ "token": token })).await;
        assert_eq!(res.status(), StatusCode::OK);
        self.login_user(&email, &password).await
    }

    pub async fn login_user(&self, email: &str, password: &str) -> User {
        let res = self.login(email, password).await;
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
        let body: Value = res.json().await.unwrap();
        let account: Account = serde_json::from_value(body["account"].clone()).unwrap();
        User {
            id: account.id,
            account,
            email: email.to_string(),
            password: password.to_string(),
            token: body["access_token"].as_str().unwrap().to_string(),
            refresh_token: body["refresh_token"].as_str().unwrap().to_string(),
        }
    }

    pub async fn admin(&self) -> User {
        let email = format!("admin-{}@example.com", unique_suffix().replace('_', "-"));
        let password = "admin password 1";
        self.assembled
            .accounts
            .create_admin(
                account::EmailAddress::parse(&email).unwrap(),
                account::Password::parse(password).unwrap(),
                account::DisplayName::parse("Admin").unwrap(),
            )
            .await
            .unwrap();
        self.login_user(&email, password).await
    }

    /// Charges `amount` points into the user's wallet through the API.
    pub async fn charge(&self, user: &User, amount: i64) -> Value {
        let key = format!("charge-{}", unique_suffix());
        let res = self.post_keyed("/api/v1/wallet/charges", &user.token, &key, &json!({ "amount": amount })).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    pub async fn balance(&self, user: &User) -> i64 {
        self.balance_of(&user.token).await
    }

    pub async fn balance_of(&self, token: &str) -> i64 {
        let body: Value = self.get("/api/v1/wallet", Some(token)).await.json().await.unwrap();
        body["balance"].as_i64().unwrap()
    }

    /// A valid access token for any account id, without signing up (for tests that need
    /// many buyers fast; no module checks that the account exists).
    pub fn token_for(&self, account_id: i64, role: Role) -> String {
        self.assembled.jwt.issue(account_id, role).unwrap().token
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.request(Method::DELETE, path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// Creates a product with `(name, price, stock)` items; returns the product JSON.
    pub async fn product(&self, seller: &str, name: &str, items: &[(&str, i64, i64)]) -> Value {
        let items: Vec<Value> = items.iter().map(|(n, p, s)| json!({"name": n, "price": p, "stock": s})).collect();
        let body = json!({"name": name, "description": format!("About {name}"), "items": items});
        json_of(self.post("/api/v1/seller/products", Some(seller), &body).await, 201).await
    }

    pub async fn add_to_cart(&self, buyer: &str, product: &Value, item_index: usize, quantity: i64) -> Response {
        let body = json!({
            "product_id": product["id"],
            "item_id": product["items"][item_index]["id"],
            "quantity": quantity,
        });
        self.post("/api/v1/cart/items", Some(buyer), &body).await
    }

    pub async fn checkout(&self, buyer: &str, key: &str, body: &Value) -> Response {
        self.post_keyed("/api/v1/orders", buyer, key, body).await
    }

    pub async fn stock(&self, product: &Value, item_index: usize) -> i64 {
        let body = json_of(self.get(&format!("/api/v1/products/{}", product["id"]), None).await, 200).await;
        let item_id = &product["items"][item_index]["id"];
        body["items"].as_array().unwrap().iter().find(|i| &i["id"] == item_id).unwrap()["stock"].as_i64().unwrap()
    }
}

/// Asserts the status and docs/api.md's error body; returns the body.
pub async fn assert_error(res: Response, status: u16, code: &str) -> Value {
    let actual = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = res.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    assert!(content_type.starts_with("application/json"), "content type {content_type}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(body["error"]["code"], code, "{text}");
    assert!(body["error"]["message"].is_string(), "{text}");
    assert!(body["error"]["details"].is_object(), "{text}");
    body
}

pub async fn json_of(res: Response, status: u16) -> Value {
    let actual = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
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
