//! The server, with one feed provider made to hang, for `bench/feed.sh`: measures what a
//! stuck integration costs the feed. Settings come from the environment like `app serve`.
//!
//!   feed_bench_server [--hang WALLET|CART|CHAT|PRODUCTS|MISSIONS|AD_SLOTS]
#![allow(clippy::print_stderr)]

use app::{Application, Overrides};
use async_trait::async_trait;
use clap::Parser;
use feed::model::ProviderType;
use feed::providers::Context;
use feed::{Provider, ProviderData};
use platform::config::{LoadOptions, Settings};
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// A provider whose every call sleeps 30 s before answering.
    #[arg(long)]
    hang: Option<String>,
}

struct Hanging(Arc<dyn Provider>);

#[async_trait]
impl Provider for Hanging {
    async fn fetch(&self, ctx: &Context) -> anyhow::Result<ProviderData> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        self.0.fetch(ctx).await
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let hang = match args.hang.as_deref() {
        None => None,
        Some(name) => Some(
            ProviderType::ALL
                .into_iter()
                .find(|p| p.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| anyhow::anyhow!("unknown provider {name}"))?,
        ),
    };
    let settings = Settings::load(LoadOptions::from_env())?;
    platform::telemetry::init(&settings.log.level, settings.json_logs());
    let overrides = Overrides {
        feed_provider_wrapper: hang.map(|hang| -> feed::ProviderWrapper {
            Arc::new(move |kind, provider| if kind == hang { Arc::new(Hanging(provider)) } else { provider })
        }),
        ..Overrides::default()
    };
    if let Some(hang) = hang {
        eprintln!("feed provider {} hangs for 30 s on every call", hang.as_str());
    }
    // The same runtime shape as `app serve`.
    let blocking = settings.server.max_blocking_threads.max(2);
    let runtime = move || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .max_blocking_threads(blocking)
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime: {e}"))
    };
    actix_web::rt::System::with_tokio_rt(runtime)
        .block_on(async move { Application::build(settings, overrides).await?.run_until_stopped().await })
}
