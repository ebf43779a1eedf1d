use anyhow::Context;
use app::{Application, Overrides};
use clap::{Parser, Subcommand};
use platform::config::{LoadOptions, Settings};

#[derive(Parser)]
#[command(name = "app", about = "The commerce backend: one binary, every module.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Also serve the bench's bare baselines (`/bare/jwt`, `/bare/redis`) on this address.
    #[arg(long, global = true, value_name = "ADDR")]
    bare_bind: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an administrator account (email counts as verified).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, env = "APP_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        name: String,
    },
    /// Fill an empty installation with demo data (sellers, products, customers with points,
    /// a streamer with open missions, chat rooms, feed rows, ad slots). Safe to run twice.
    SeedDemo {
        /// The demo accounts share a published password: refused in production without this.
        #[arg(long)]
        allow_production: bool,
    },
    /// Operators' view of every module's outbox (the same as `GET /api/v1/admin/outbox` and its retry).
    Outbox {
        #[command(subcommand)]
        action: OutboxCommand,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Print the rows in a status (parked by default) as JSON lines, by module then id.
    List {
        /// Only this module's outbox (e.g. `mission`).
        #[arg(long)]
        module: Option<String>,
        /// `parked` or `pending`.
        #[arg(long, default_value = "parked")]
        status: String,
    },
    /// Queue a parked row again with fresh attempts (a running instance's dispatcher delivers it).
    Retry { module: String, id: i64 },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(LoadOptions::from_env())?;
    platform::telemetry::init(&settings.log.level, settings.json_logs());
    let blocking = settings.server.max_blocking_threads.max(2);
    let result = actix_web::rt::System::with_tokio_rt(move || {
        tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(blocking).build().unwrap_or_else(
            |e| {
                // Without a runtime nothing can run; this is start-up, so say why and stop.
                eprintln!("cannot start the Tokio runtime: {e}");
                std::process::exit(1)
            },
        )
    })
    .block_on(run(cli, settings));
    if let Err(e) = &result {
        tracing::error!(error = %format!("{e:#}"), "fatal");
    }
    result
}

async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings, Overrides::default()).await?;
            if let Some(bind) = &cli.bare_bind {
                let listener = std::net::TcpListener::bind(bind).with_context(|| format!("--bare-bind {bind}"))?;
                tokio::spawn(app::bare::server(app.assembled(), listener)?);
                tracing::info!(address = %bind, "bare baselines listening");
            }
            app.run_until_stopped().await
        }
        Command::Migrate => {
            let assembled = app::assemble(settings, Overrides::default()).await?;
            app::migrate(&assembled).await?;
            tracing::info!("migrations up to date");
            Ok(())
        }
        Command::CreateAdmin { email, password, name } => {
            let assembled = app::assemble(settings, Overrides::default()).await?;
            app::migrate(&assembled).await?;
            let email = account::EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
            let password = account::Password::parse(&password).map_err(|e| anyhow::anyhow!("--password {e}"))?;
            let name = account::DisplayName::parse(&name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
            let admin = assembled.accounts.create_admin(email, password, name).await.context("creating the admin")?;
            tracing::info!(id = admin.id, email = %admin.email, "admin created");
            Ok(())
        }
        Command::SeedDemo { allow_production } => {
            if settings.is_production() && !allow_production {
                anyhow::bail!("refusing to seed demo accounts (known password) in production; pass --allow-production");
            }
            let assembled = app::assemble(settings, Overrides::default()).await?;
            app::migrate(&assembled).await?;
            let report = app::seed::seed_demo(&assembled).await.context("seeding the demo data")?;
            tracing::info!(%report, "demo data in place");
            let emails = app::seed::demo_emails().join(", ");
            tracing::info!(password = app::seed::DEMO_PASSWORD, accounts = %emails, "demo accounts");
            Ok(())
        }
        Command::Outbox { action } => {
            let assembled = app::assemble(settings, Overrides::default()).await?;
            outbox(&assembled, action).await
        }
    }
}

/// `app outbox …`: the rows go to stdout as JSON, one per line, for `jq`.
async fn outbox(assembled: &app::Modules, action: OutboxCommand) -> anyhow::Result<()> {
    use platform::outbox::RetryOutcome;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match action {
        OutboxCommand::List { module, status } => {
            let status = app::outbox_admin::parse_status(Some(&status))
                .ok_or_else(|| anyhow::anyhow!("--status must be parked or pending"))?;
            let mut page = contracts::PageRequest { page: 0, size: contracts::PageRequest::MAX_SIZE };
            loop {
                let rows = assembled.outbox_list(module.as_deref(), status, page).await?;
                for row in &rows.items {
                    writeln!(out, "{}", serde_json::to_string(row)?)?;
                }
                if rows.items.len() < page.size as usize {
                    return Ok(());
                }
                page.page += 1;
            }
        }
        OutboxCommand::Retry { module, id } => match assembled.outbox_retry(&module, id).await? {
            RetryOutcome::Queued(row) => {
                writeln!(out, "{}", serde_json::to_string(&row)?)?;
                Ok(())
            }
            RetryOutcome::NotParked(row) => anyhow::bail!("outbox row {module}/{id} is {}, not parked", row.status),
            RetryOutcome::NotFound => anyhow::bail!("no outbox row {module}/{id}"),
        },
    }
}
