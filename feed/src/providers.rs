//! Providers: one per integration, each called at most once per feed request. Which
//! implementation serves which provider type is an exhaustive `match` ([`standard`]).

use crate::model::{AdSlot, ProviderType};
use crate::store::FeedSettings;
use async_trait::async_trait;
use contracts::catalog::{CartService, CartSummary, CatalogService, ProductSummary};
use contracts::chat::{ChatService, ChatSummary};
use contracts::mission::{MissionBrief, MissionService};
use contracts::wallet::{WalletRef, WalletService};
use std::sync::Arc;

/// What a request is for.
pub struct Context {
    pub account_id: Option<i64>,
    pub country: Option<String>,
    pub settings: Arc<FeedSettings>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProviderData {
    Wallet { balance: i64 },
    Cart(CartSummary),
    Chat(ChatSummary),
    Products(Vec<ProductSummary>),
    Missions(Vec<MissionBrief>),
    AdSlots(Vec<AdSlot>),
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    async fn fetch(&self, ctx: &Context) -> anyhow::Result<ProviderData>;
}

/// Lets tests (and the feed benchmark) wrap providers, e.g. to count calls or hang.
pub type ProviderWrapper = Arc<dyn Fn(ProviderType, Arc<dyn Provider>) -> Arc<dyn Provider> + Send + Sync>;

/// The other modules' contracts the providers read through.
#[derive(Clone)]
pub struct Dependencies {
    pub wallets: Arc<dyn WalletService>,
    pub carts: Arc<dyn CartService>,
    pub chat: Arc<dyn ChatService>,
    pub catalog: Arc<dyn CatalogService>,
    pub missions: Arc<dyn MissionService>,
}

/// How many items list providers fetch.
const LIST_SIZE: u32 = 10;

fn account(ctx: &Context) -> anyhow::Result<i64> {
    ctx.account_id.ok_or_else(|| anyhow::anyhow!("personal provider called for an anonymous request"))
}

struct Wallet(Arc<dyn WalletService>);
struct Cart(Arc<dyn CartService>);
struct Chat(Arc<dyn ChatService>);
struct Products(Arc<dyn CatalogService>);
struct Missions(Arc<dyn MissionService>);
struct AdSlots;

#[async_trait]
impl Provider for Wallet {
    async fn fetch(&self, ctx: &Context) -> anyhow::Result<ProviderData> {
        Ok(ProviderData::Wallet { balance: self.0.balance(&WalletRef::Account(account(ctx)?)).await? })
    }
}

#[async_trait]
impl Provider for Cart {
    async fn fetch(&self, ctx: &Context) -> anyhow::Result<ProviderData> {
        Ok(ProviderData::Cart(self.0.cart_summary(account(ctx)?).await?))
    }
}

#[async_trait]
impl Provider for Chat {
    async fn fetch(&self, ctx: &Context) -> anyhow::Result<ProviderData> {
        Ok(ProviderData::Chat(self.0.unread_summary(account(ctx)?, LIST_SIZE).await?))
    }
}

#[async_trait]
impl Provider for Products {
    async fn fetch(&self, _: &Context) -> anyhow::Result<ProviderData> {
        Ok(ProviderData::Products(self.0.newest_products(LIST_SIZE).await?))
    }
}

#[async_trait]
impl Provider for Missions {
    async fn fetch(&self, ctx: &Context) -> anyhow::Result<ProviderData> {
        Ok(ProviderData::Missions(self.0.open_missions_for(account(ctx)?, LIST_SIZE).await?))
    }
}

/// The feed's own ad slots, already in the settings snapshot (no I/O per request).
#[async_trait]
impl Provider for AdSlots {
    async fn fetch(&self, ctx: &Context) -> anyhow::Result<ProviderData> {
        let country = ctx.country.as_deref();
        Ok(ProviderData::AdSlots(ctx.settings.ad_slots.iter().filter(|s| s.serves(country)).cloned().collect()))
    }
}

/// The implementation of each provider type.
pub fn standard(kind: ProviderType, deps: &Dependencies) -> Arc<dyn Provider> {
    match kind {
        ProviderType::Wallet => Arc::new(Wallet(deps.wallets.clone())),
        ProviderType::Cart => Arc::new(Cart(deps.carts.clone())),
        ProviderType::Chat => Arc::new(Chat(deps.chat.clone())),
        ProviderType::Products => Arc::new(Products(deps.catalog.clone())),
        ProviderType::Missions => Arc::new(Missions(deps.missions.clone())),
        ProviderType::AdSlots => Arc::new(AdSlots),
    }
}
