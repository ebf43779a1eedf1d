//! The single binary's library: builds every module from the settings and connects them
//! through their contracts (`wire`), mounts their routes under `/api/v1` next to the
//! operational endpoints and the OpenAPI document, and runs the background workers.
//!
//! - Tables: none; each module migrates its own ([`migrate`]).
//! - Endpoints: `/healthz`, `/readyz`, `/metrics`, `/api-docs/openapi.json` and
//!   `/swagger-ui/`; everything under `/api/v1` belongs to a module, except the operators'
//!   view of every module's outbox (`/admin/outbox`, [`outbox_admin`]).
//! - Workers: one outbox dispatcher per module that has an outbox (account, chat, mission,
//!   moderation, notify; notify's event subscriber runs on each of them), the notification
//!   retention sweep, the suspension-list sync, the
//!   mission expiry sweep and recovery, charge reconciliation, checkout recovery, chat
//!   fan-out and the feed settings refresh (started by [`Application::build`]).
//! - Never: hold business rules. It is the only crate that depends on every module.

pub mod bare;
pub mod observability;
mod openapi;
mod operations;
pub mod outbox_admin;
pub mod seed;
pub mod webapp;
mod wire;

pub use wire::{Modules, Overrides, WalletWrapper, assemble, migrate};

/// The OpenAPI document served at `/api-docs/openapi.json` (tests walk its operations).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::document()
}

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{DefaultHeaders, ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, web};
use platform::config::Settings;
use platform::error::{json_error_body, path_error, query_error};
use platform::http::{BodyLimit, TrustedProxies};
use platform::telemetry::{AppRootSpan, request_id_middleware};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

/// Set on SIGTERM: `/readyz` then fails so the load balancer drains this instance.
#[derive(Default)]
pub struct Lifecycle {
    shutting_down: AtomicBool,
}

impl Lifecycle {
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }
}

pub struct Application {
    port: u16,
    server: Server,
    assembled: Arc<Modules>,
    workers: CancellationToken,
    lifecycle: Arc<Lifecycle>,
    drain_delay: Duration,
}

impl Application {
    /// Migrates, assembles the modules, starts the background workers and binds the
    /// listener (port 0 picks a free one, as tests do). Call inside a Tokio runtime.
    pub async fn build(settings: Settings, overrides: Overrides) -> anyhow::Result<Application> {
        let assembled = Arc::new(assemble(settings, overrides).await?);
        migrate(&assembled).await?;
        webapp::preload();
        let workers = CancellationToken::new();
        wire::spawn_workers(&assembled, &workers);
        let lifecycle = Arc::new(Lifecycle::default());
        let settings = &assembled.settings;
        let listener = TcpListener::bind(&settings.server.bind)?;
        let port = listener.local_addr()?.port();
        let server = http_server(assembled.clone(), lifecycle.clone(), listener)?;
        tracing::info!(address = %listener_address(&settings.server.bind, port), "listening");
        Ok(Application {
            port,
            server,
            drain_delay: Duration::from_millis(settings.server.drain_delay_ms),
            assembled,
            workers,
            lifecycle,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn assembled(&self) -> Arc<Modules> {
        self.assembled.clone()
    }

    pub fn lifecycle(&self) -> Arc<Lifecycle> {
        self.lifecycle.clone()
    }

    /// A token that, when cancelled, stops the background workers (tests use it to
    /// simulate a crashed dispatcher).
    pub fn workers(&self) -> CancellationToken {
        self.workers.clone()
    }

    /// Serves until SIGTERM/SIGINT, then: readiness fails, the drain delay passes, in-flight
    /// requests finish (up to `server.shutdown_grace_secs`), workers stop.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let lifecycle = self.lifecycle.clone();
        let drain = self.drain_delay;
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested");
            lifecycle.begin_shutdown();
            tokio::time::sleep(drain).await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        self.workers.cancel();
        // Give workers a moment to finish the message in hand; leases cover the rest.
        tokio::time::sleep(Duration::from_millis(200)).await;
        tracing::info!("stopped");
        Ok(result?)
    }

    /// Runs the server without signal handling (tests stop it through the handle).
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        let server = self.server;
        let workers = self.workers;
        tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "server failed");
            }
            workers.cancel();
        })
    }
}

fn listener_address(bind: &str, port: u16) -> String {
    let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or(bind);
    format!("{host}:{port}")
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn http_server(assembled: Arc<Modules>, lifecycle: Arc<Lifecycle>, listener: TcpListener) -> anyhow::Result<Server> {
    let settings = assembled.settings.clone();
    let trusted = TrustedProxies::parse(&settings.server.trusted_proxies)?;
    let body_limit = BodyLimit(settings.server.body_limit_bytes);
    let auth_limit = platform::ratelimit::per_ip(settings.rate_limit.auth_per_second, settings.rate_limit.auth_burst)?;
    {
        let auth_limit = auth_limit.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                auth_limit.forget_idle();
            }
        });
    }
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
        n => n,
    };
    let hsts = settings.server.hsts_max_age_secs;
    let cors_origins = settings.server.cors_allowed_origins.clone();
    let factory_state = assembled.clone();
    let server = HttpServer::new(move || {
        let assembled = &factory_state;
        let mut headers = DefaultHeaders::new()
            .add(("X-Content-Type-Options", "nosniff"))
            .add(("X-Frame-Options", "DENY"))
            .add(("Referrer-Policy", "no-referrer"));
        if hsts > 0 {
            headers = headers.add(("Strict-Transport-Security", format!("max-age={hsts}; includeSubDomains")));
        }
        App::new()
            .app_data(trusted.clone())
            .app_data(body_limit)
            .app_data(assembled.jwt.clone())
            .app_data(assembled.suspensions.clone())
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::Data::from(assembled.clone()))
            .app_data(web::Data::from(lifecycle.clone()))
            .app_data(web::Data::from(assembled.accounts.clone()))
            .app_data(web::Data::from(assembled.wallets.clone()))
            .app_data(web::Data::from(assembled.charges.clone()))
            .app_data(web::Data::from(assembled.payouts.clone()))
            .app_data(web::Data::from(assembled.catalog.clone()))
            .app_data(web::Data::from(assembled.carts.clone()))
            .app_data(web::Data::from(assembled.orders.clone()))
            .app_data(web::Data::from(assembled.chat.clone()))
            .app_data(web::Data::from(assembled.missions.clone()))
            .app_data(web::Data::from(assembled.feed.clone()))
            .app_data(web::Data::from(assembled.notify.clone()))
            .app_data(web::Data::from(assembled.moderation.clone()))
            .configure(operations::routes)
            .configure(payment::http::configure_webhooks)
            .configure(openapi::configure)
            // Full paths, mounted before the `/api/v1` scope (which would answer 404 for them).
            .configure(outbox_admin::configure)
            .service(
                web::scope("/api/v1")
                    .configure(|cfg| account::http::configure(cfg, &auth_limit))
                    .configure(payment::configure)
                    .configure(order::configure)
                    .configure(chat::http::configure)
                    .configure(mission::http::configure)
                    .configure(feed::http::configure)
                    .configure(notify::http::configure)
                    .configure(moderation::http::configure),
            )
            .default_service(web::to(webapp::serve))
            .wrap(ErrorHandlers::new().default_handler(json_error_body))
            .wrap(from_fn(observability::http_metrics))
            .wrap(headers)
            .wrap(operations::cors(&cors_origins))
            .wrap(TracingLogger::<AppRootSpan>::new())
            .wrap(from_fn(request_id_middleware))
    })
    .workers(workers)
    .worker_max_blocking_threads(settings.server.max_blocking_threads.max(2))
    .shutdown_timeout(settings.server.shutdown_grace_secs)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
