//! Builds every module from settings and connects them through their contracts.

use account::Accounts;
use anyhow::Context;
use chat::Chat;
use contracts::account::AccountService;
use contracts::chat::LiveSockets;
use contracts::events::{ACCOUNT_REINSTATED, ACCOUNT_SUSPENDED, NOTIFIED_TOPICS, REPORT_RESOLVED};
use contracts::wallet::WalletService;
use feed::{Feed, FeedConfig, SettingsStore};
use mission::{MissionSettings, Missions, Settlement};
use moderation::{Moderation, ModerationSettings, TargetType, Targets};
use notify::{DeliveryHandler, EventSubscriber, FcmSender, Notify, NotifySettings, PushSender};
use order::{Carts, Catalog, OrderSettings, Orders};
use payment::gateway::{PaymentGateway, SandboxGateway, TossGateway};
use payment::payouts::gateway::{PayoutGateway, SandboxPayouts, TossPayouts};
use payment::{Charges, PaymentSettings, Payouts, Wallets};
use platform::auth::Jwt;
use platform::cache::{MemoryCache, RedisCache, SharedCache};
use platform::clock::{SharedClock, SystemClock};
use platform::config::Settings;
use platform::db::{Db, Migrations};
use platform::hotcache::{HotCache, HotDb};
use platform::mailer::{MAIL_TOPIC, MailHandler, SharedMailer};
use platform::outbox::{Dispatcher, Outbox};
use platform::pubsub::{MemoryPubSub, RedisPubSub, SharedPubSub};
use platform::suspension::Suspensions;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Wraps the wallet service other modules see (tests inject failures with it).
pub type WalletWrapper = Arc<dyn Fn(Arc<dyn WalletService>) -> Arc<dyn WalletService> + Send + Sync>;

/// What tests (or an embedding) may replace.
#[derive(Default, Clone)]
pub struct Overrides {
    pub clock: Option<SharedClock>,
    pub gateway: Option<Arc<dyn PaymentGateway>>,
    pub payout_gateway: Option<Arc<dyn PayoutGateway>>,
    pub mailer: Option<SharedMailer>,
    pub wallet_wrapper: Option<WalletWrapper>,
    /// Wraps each feed provider (tests count calls or make one hang; so does the bench).
    pub feed_provider_wrapper: Option<feed::ProviderWrapper>,
    /// Replaces the push sender (tests count pushes); otherwise FCM when configured.
    pub push: Option<Arc<dyn PushSender>>,
}

/// A module's database and the migrations that belong in it.
pub struct ModuleDb {
    pub module: &'static str,
    pub db: Db,
    pub migrations: &'static Migrations,
    pub outbox: Option<Outbox>,
}

/// Every module's service, built once from the settings, with the shared infrastructure
/// they run on: the state handlers and workers reach through `web::Data<Modules>`.
pub struct Modules {
    pub settings: Settings,
    pub clock: SharedClock,
    pub cache: SharedCache,
    pub pubsub: SharedPubSub,
    pub mailer: SharedMailer,
    pub jwt: Jwt,
    /// Suspended accounts, kept current by the account module; checked on every request.
    pub suspensions: Suspensions,
    pub databases: Vec<ModuleDb>,
    pub accounts: Arc<Accounts>,
    pub wallets: Arc<Wallets>,
    pub charges: Arc<Charges>,
    pub payouts: Arc<Payouts>,
    pub catalog: Arc<Catalog>,
    pub carts: Arc<Carts>,
    pub orders: Arc<Orders>,
    pub chat: Arc<Chat>,
    pub missions: Arc<Missions>,
    pub feed: Arc<Feed>,
    pub notify: Arc<Notify>,
    pub moderation: Arc<Moderation>,
    /// Hot reads kept in memory (`platform::hotcache`): product details and carts, the
    /// feed's unread summaries, balances and missions; one channel, run by the workers.
    pub order_hot: Arc<HotCache>,
    /// How many times this instance's workers drained the metrics recorder (see
    /// [`observability::run_upkeep`]).
    pub metrics_upkeeps: Arc<std::sync::atomic::AtomicU64>,
    order_settings: OrderSettings,
    payment_settings: PaymentSettings,
}

impl Modules {
    pub fn database(&self, module: &str) -> Option<&Db> {
        self.databases.iter().find(|m| m.module == module).map(|m| &m.db)
    }
}

fn module_db(
    settings: &Settings,
    module: &'static str,
    migrations: &'static Migrations,
    outbox: Option<Outbox>,
) -> anyhow::Result<ModuleDb> {
    let url = settings.database_url_for(module)?;
    let db = Db::connect(module, &url, &settings.database).with_context(|| format!("{module} database"))?;
    tracing::info!(module, target = %db.target().describe(), "database configured");
    Ok(ModuleDb { module, db, migrations, outbox })
}

/// Builds the modules. Connections are made lazily; nothing is migrated yet.
pub async fn assemble(settings: Settings, overrides: Overrides) -> anyhow::Result<Modules> {
    observability::install_recorder();
    let clock: SharedClock = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
    let (cache, pubsub): (SharedCache, SharedPubSub) = match settings.redis.url() {
        Some(url) => (Arc::new(RedisCache::new(&settings.redis, url)?), RedisPubSub::new(&settings.redis, url)?),
        None => (MemoryCache::new(), MemoryPubSub::new()),
    };
    tracing::info!(cache = cache.kind(), "cache configured");
    let mailer = match overrides.mailer {
        Some(m) => m,
        None => platform::mailer::from_settings(&settings.mail)?,
    };
    let jwt = Jwt::new(&settings.auth, clock.clone());
    let suspensions = Suspensions::new(clock.clone());
    let payment_settings: PaymentSettings = settings.section()?;

    let account_outbox = Outbox::new(account::OUTBOX_TABLE);
    let account_db = module_db(&settings, "account", &account::MIGRATIONS, Some(account_outbox.clone()))?;
    let payment_outbox = Outbox::new(payment::OUTBOX_TABLE);
    let payment_db = module_db(&settings, "payment", &payment::MIGRATIONS, Some(payment_outbox.clone()))?;
    let order_outbox = Outbox::new(order::OUTBOX_TABLE);
    let order_db = module_db(&settings, "order", &order::MIGRATIONS, Some(order_outbox.clone()))?;
    let order_settings: OrderSettings = settings.section()?;
    let chat_outbox = Outbox::new(chat::OUTBOX_TABLE);
    let chat_db = module_db(&settings, "chat", &chat::MIGRATIONS, Some(chat_outbox.clone()))?;
    let notify_settings: NotifySettings = settings.section()?;
    let notify_outbox = Outbox::new(notify::OUTBOX_TABLE);
    let notify_db = module_db(&settings, "notify", &notify::MIGRATIONS, Some(notify_outbox.clone()))?;
    let mission_settings: MissionSettings = settings.section()?;
    let mission_outbox = Outbox::new(mission::OUTBOX_TABLE);
    let mission_db = module_db(&settings, "mission", &mission::MIGRATIONS, Some(mission_outbox.clone()))?;
    let feed_config: FeedConfig = settings.section()?;
    let feed_db = module_db(&settings, "feed", &feed::MIGRATIONS, None)?;
    let moderation_settings: ModerationSettings = settings.section()?;
    let moderation_outbox = Outbox::new(moderation::OUTBOX_TABLE);
    let moderation_db = module_db(&settings, "moderation", &moderation::MIGRATIONS, Some(moderation_outbox.clone()))?;

    let hasher = account::PasswordHasher::new(settings.auth.hash_concurrency)?;
    let accounts = Arc::new(Accounts::new(
        account_db.db.clone(),
        account_outbox,
        cache.clone(),
        clock.clone(),
        jwt.clone(),
        hasher,
        settings.auth.clone(),
        settings.server.public_url.clone(),
        suspensions.clone(),
        pubsub.clone(),
    ));
    let gateway: Arc<dyn PaymentGateway> = match overrides.gateway {
        Some(g) => g,
        None if payment_settings.gateway == "toss" => Arc::new(TossGateway::new(&payment_settings.toss)?),
        None => Arc::new(SandboxGateway),
    };
    let order_hot = HotCache::new(
        "order",
        pubsub.clone(),
        Duration::from_secs(order_settings.hot_cache_ttl_secs),
        order_settings.hot_cache_entries,
    );
    let ledger_db = HotDb::new(payment_db.db.clone(), Some(order_hot.clone()));
    let wallets = Arc::new(
        Wallets::new(ledger_db.clone(), clock.clone())
            .with_audit_grace(chrono::Duration::seconds(payment_settings.audit_grace_secs)),
    );
    let payout_gateway: Arc<dyn PayoutGateway> = match overrides.payout_gateway {
        Some(g) => g,
        None if payment_settings.payout_gateway == "toss" => Arc::new(TossPayouts::new(&payment_settings.toss)?),
        None => Arc::new(SandboxPayouts),
    };
    let payouts = Arc::new(Payouts::new(
        ledger_db.clone(),
        clock.clone(),
        payment_outbox.clone(),
        payout_gateway,
        &payment_settings,
    )?);
    let charges = Arc::new(Charges::new(ledger_db, clock.clone(), gateway, payment_settings.clone(), payment_outbox));
    // Other modules reach money only through the contract.
    let wallet_service: Arc<dyn WalletService> = match &overrides.wallet_wrapper {
        Some(wrap) => wrap(wallets.clone()),
        None => wallets.clone(),
    };

    let catalog = Arc::new(
        Catalog::new(order_db.db.clone(), cache.clone(), clock.clone(), order_hot.clone())
            .with_suspensions(suspensions.clone()),
    );
    let carts = Arc::new(Carts::new(
        order_db.db.clone(),
        cache.clone(),
        clock.clone(),
        Duration::from_secs(order_settings.cart_cache_ttl_secs),
        order_hot.clone(),
    ));
    let orders = Arc::new(Orders::new(
        order_db.db.clone(),
        wallet_service.clone(),
        carts.clone(),
        clock.clone(),
        order_outbox,
        order::RecoverySettings { after: chrono::Duration::seconds(order_settings.checkout_recovery_secs) },
        order::LifecycleSettings {
            commission_bps: order_settings.commission_bps,
            auto_confirm_after: chrono::Duration::seconds(order_settings.auto_confirm_secs),
        },
    ));

    let account_service: Arc<dyn AccountService> = accounts.clone();
    let chat = Arc::new(
        Chat::new(
            chat_db.db.clone(),
            chat_outbox,
            account_service.clone(),
            pubsub.clone(),
            cache.clone(),
            clock.clone(),
        )
        .with_hot_cache(order_hot.clone()),
    );
    let push: Option<Arc<dyn PushSender>> = match overrides.push {
        Some(p) => Some(p),
        None if notify_settings.fcm.enabled() => Some(Arc::new(FcmSender::new(&notify_settings.fcm)?)),
        None => None,
    };
    tracing::info!(push = push.is_some(), "notifications configured");
    let live: Arc<dyn LiveSockets> = chat.clone();
    let notify = Arc::new(Notify::new(notify_db.db.clone(), notify_outbox, live, push, clock.clone(), notify_settings));
    let missions = Arc::new(Missions::new(
        HotDb::new(mission_db.db.clone(), Some(order_hot.clone())),
        mission_outbox,
        wallet_service.clone(),
        account_service,
        clock.clone(),
        mission_settings,
        &settings.server.public_url,
    ));

    // The first load happens in `migrate` (the table must exist); until then the backup serves.
    let feed_store = Arc::new(SettingsStore::new(feed_db.db.clone(), cache.clone())?);
    let feed_deps = feed::Dependencies {
        wallets: wallet_service,
        carts: carts.clone(),
        chat: chat.clone(),
        catalog: catalog.clone(),
        missions: missions.clone(),
    };
    let feed = Arc::new(Feed::new(
        feed_db.db.clone(),
        feed_store,
        &feed_deps,
        overrides.feed_provider_wrapper,
        pubsub.clone(),
        clock.clone(),
        feed_config,
    ));

    // Moderation reaches each reportable thing through its owner's contract.
    let mut targets: Targets = std::collections::HashMap::new();
    targets.insert(TargetType::Product, catalog.clone());
    targets.insert(TargetType::ChatMessage, chat.clone());
    targets.insert(TargetType::Account, accounts.clone());
    targets.insert(TargetType::Mission, missions.clone());
    let moderation = Arc::new(Moderation::new(
        moderation_db.db.clone(),
        moderation_outbox,
        clock.clone(),
        targets,
        accounts.clone(),
        moderation_settings,
    ));

    Ok(Modules {
        settings,
        clock,
        cache,
        pubsub,
        mailer,
        jwt,
        suspensions,
        databases: vec![account_db, payment_db, order_db, chat_db, mission_db, feed_db, moderation_db, notify_db],
        accounts,
        wallets,
        charges,
        payouts,
        catalog,
        carts,
        orders,
        chat,
        missions,
        feed,
        notify,
        moderation,
        order_hot,
        metrics_upkeeps: Arc::default(),
        order_settings,
        payment_settings,
    })
}

use crate::observability;

/// Applies every module's pending migrations to its own database.
pub async fn migrate(assembled: &Modules) -> anyhow::Result<()> {
    for module in &assembled.databases {
        let db = module.db.clone();
        let migrations = module.migrations;
        let applied = tokio::task::spawn_blocking(move || db.migrate(&[migrations]))
            .await?
            .with_context(|| format!("migrating the {} database", module.module))?;
        if !applied.is_empty() {
            tracing::info!(module = module.module, ?applied, "migrations applied");
        }
    }
    let suspended = assembled.accounts.reload_suspensions().await.context("loading the suspension list")?;
    tracing::info!(suspended, "suspension list loaded");
    let source = assembled.feed.store().refresh().await;
    tracing::info!(source = source.as_str(), "feed settings loaded");
    Ok(())
}

/// Outbox dispatchers (one per module database) and periodic tasks.
pub fn spawn_workers(assembled: &Arc<Modules>, shutdown: &CancellationToken) {
    let settings = &assembled.settings;
    for module in &assembled.databases {
        let Some(outbox) = module.outbox.clone() else { continue };
        let mut dispatcher =
            Dispatcher::new(module.module, module.db.clone(), outbox, settings.outbox.clone(), assembled.clock.clone())
                .register(MAIL_TOPIC, Arc::new(MailHandler::new(assembled.mailer.clone(), module.module)));
        // Each module declares the events it publishes; notify hears the ones it turns into
        // notifications, from whichever module's outbox they come (topics are module-prefixed).
        dispatcher = match module.module {
            "chat" => dispatcher.declare_events(&chat::EVENT_TOPICS),
            "mission" => dispatcher.declare_events(&mission::EVENT_TOPICS),
            "order" => dispatcher.declare_events(&contracts::order::TOPICS),
            "payment" => dispatcher.declare_events(&contracts::events::payment::TOPICS),
            "moderation" => dispatcher.declare_events(&[REPORT_RESOLVED]),
            "account" => dispatcher.declare_events(&[ACCOUNT_SUSPENDED, ACCOUNT_REINSTATED]),
            _ => dispatcher,
        };
        let subscriber = Arc::new(EventSubscriber::new(assembled.notify.clone()));
        for topic in NOTIFIED_TOPICS {
            dispatcher = dispatcher.subscribe(topic, subscriber.clone());
        }
        if module.module == "notify" {
            dispatcher =
                dispatcher.register(notify::DELIVER_TOPIC, Arc::new(DeliveryHandler::new(assembled.notify.clone())));
        }
        if module.module == "mission" {
            // Settling a mission with thousands of contributors takes a while.
            dispatcher = dispatcher.register_with_timeout(
                mission::SETTLE_TOPIC,
                Arc::new(Settlement::new(assembled.missions.clone())),
                Duration::from_secs(600),
            );
        }
        tokio::spawn(dispatcher.run(shutdown.child_token()));
    }
    let missions = assembled.missions.clone();
    let interval = Duration::from_millis(assembled.missions.settings().sweep_interval_ms);
    spawn_periodic("mission expiry", interval, shutdown.child_token(), move || {
        let missions = missions.clone();
        async move { missions.sweep().await.map(|_| ()) }
    });
    let missions = assembled.missions.clone();
    spawn_periodic("mission recovery", Duration::from_secs(5), shutdown.child_token(), move || {
        let missions = missions.clone();
        async move { missions.recover().await.map(|_| ()) }
    });
    let charges = assembled.charges.clone();
    let interval = Duration::from_millis(assembled.payment_settings.reconcile_interval_ms);
    spawn_periodic("charge reconciliation", interval, shutdown.child_token(), move || {
        let charges = charges.clone();
        async move {
            charges.reconcile().await.map(|n| {
                if n > 0 {
                    tracing::info!(settled = n, "pending charges reconciled");
                }
            })
        }
    });
    let charges = assembled.charges.clone();
    let payouts = assembled.payouts.clone();
    spawn_periodic("refund and payout reconciliation", interval, shutdown.child_token(), move || {
        let charges = charges.clone();
        let payouts = payouts.clone();
        async move {
            charges.reconcile_refunds().await?;
            payouts.reconcile().await.map(|_| ())
        }
    });
    let wallets = assembled.wallets.clone();
    let interval = Duration::from_secs(assembled.payment_settings.audit_interval_secs.max(1));
    spawn_periodic("ledger audit", interval, shutdown.child_token(), move || {
        let wallets = wallets.clone();
        async move { wallets.audit_pass().await.map(|_| ()) }
    });
    let wallets = assembled.wallets.clone();
    let retention = assembled.payment_settings.retention();
    let interval = Duration::from_secs(assembled.payment_settings.retention_interval_secs.max(1));
    spawn_periodic("payment retention", interval, shutdown.child_token(), move || {
        let wallets = wallets.clone();
        async move { wallets.sweep(retention).await.map(|_| ()) }
    });
    tokio::spawn(assembled.chat.clone().run_fanout(shutdown.child_token()));
    let notifications = assembled.notify.clone();
    let interval = Duration::from_secs(assembled.notify.settings().sweep_interval_secs.max(1));
    spawn_periodic("notification retention", interval, shutdown.child_token(), move || {
        let notifications = notifications.clone();
        async move { notifications.sweep().await.map(|_| ()) }
    });
    let reload = Duration::from_millis(settings.auth.suspension_reload_ms);
    tokio::spawn(assembled.accounts.clone().run_suspension_sync(reload, shutdown.child_token()));
    tokio::spawn(assembled.order_hot.clone().run(shutdown.child_token()));
    let refresh = Duration::from_millis(assembled.feed.config().settings_refresh_ms);
    tokio::spawn(assembled.feed.store().clone().run(refresh, assembled.pubsub.clone(), shutdown.child_token()));
    let upkeeps = assembled.metrics_upkeeps.clone();
    spawn_periodic("metrics upkeep", observability::UPKEEP_INTERVAL, shutdown.child_token(), move || {
        observability::run_upkeep();
        upkeeps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async { Ok::<_, std::convert::Infallible>(()) }
    });
    let orders = assembled.orders.clone();
    let interval = Duration::from_millis(assembled.order_settings.recovery_interval_ms);
    spawn_periodic("checkout recovery", interval, shutdown.child_token(), move || {
        let orders = orders.clone();
        async move { orders.recover().await.map(|_| ()) }
    });
    let orders = assembled.orders.clone();
    let interval = Duration::from_millis(assembled.order_settings.auto_confirm_interval_ms);
    spawn_periodic("order auto-confirmation", interval, shutdown.child_token(), move || {
        let orders = orders.clone();
        async move {
            // Drain what is due, a batch at a time.
            while orders.auto_confirm(500).await? == 500 {}
            Ok::<_, order::OrderError>(())
        }
    });
}

/// Runs `task` every `interval` until `shutdown`; failures are logged and retried next time.
pub fn spawn_periodic<F, Fut, E>(name: &'static str, interval: Duration, shutdown: CancellationToken, task: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.cancelled() => break,
            }
            if let Err(e) = task().await {
                tracing::warn!(task = name, error = %e, "periodic task failed");
            }
        }
    });
}
