//! Sellers' products and items, public search and detail, and the `CatalogService` contract.

pub mod http;
pub mod model;
pub(crate) mod repo;
pub mod search;

use crate::error::OrderError;
use async_trait::async_trait;
use contracts::catalog::{CatalogService, ProductSummary};
use contracts::moderation::{HideOutcome, ModerationTarget, TargetSnapshot};
use contracts::{AccountId, ItemId, ProductId};
use contracts::{Page, PageRequest, ServiceError};
use model::{Description, Item, MAX_ITEMS_PER_PRODUCT, NewItem, Price, Product, ProductName, Stock};
use platform::cache::SharedCache;
use platform::clock::SharedClock;
use platform::db::{Db, DbError};
use platform::hotcache::HotCache;
use platform::suspension::Suspensions;
use std::sync::Arc;
use std::time::Duration;

/// Search pages are cached this long; any seller edit invalidates them at once (the cache
/// key carries the catalog generation). Only stock taken by checkouts can lag by this much.
const SEARCH_CACHE_TTL: Duration = Duration::from_secs(30);
const GENERATION_KEY: &str = "catalog:generation";

pub struct Catalog {
    db: Db,
    cache: SharedCache,
    clock: SharedClock,
    /// Suspended sellers' products are left out of search.
    suspensions: Option<Suspensions>,
    /// Rendered product details (`p:{id}`), shared with the carts (tagged with their products).
    hot: Arc<HotCache>,
}

/// The in-process cache key of a product's detail; also the tag of every cart holding it.
pub(crate) fn product_key(id: i64) -> String {
    format!("p:{id}")
}

/// The in-process tag of answers that any seller edit can change (a new, deleted or hidden
/// product changes the newest products the feed shows).
const CATALOG_TAG: &str = "catalog";

/// Changes to an item; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ItemUpdate {
    pub name: Option<ProductName>,
    pub price: Option<Price>,
    pub stock: Option<Stock>,
}

impl Catalog {
    pub fn new(db: Db, cache: SharedCache, clock: SharedClock, hot: Arc<HotCache>) -> Self {
        Catalog { db, cache, clock, suspensions: None, hot }
    }

    /// Leaves the products of accounts on this list out of search while they are on it.
    pub fn with_suspensions(mut self, suspensions: Suspensions) -> Self {
        self.suspensions = Some(suspensions);
        self
    }

    /// Called after every committed seller edit: cached search pages stop being used, and the
    /// product's cached detail (and every cached cart holding it) is dropped on every instance.
    async fn catalog_changed(&self, product_id: Option<i64>) {
        let names: Vec<String> = std::iter::once(CATALOG_TAG.to_string()).chain(product_id.map(product_key)).collect();
        self.hot.invalidate(&names).await;
        if let Err(e) = self.cache.incr(GENERATION_KEY, Duration::from_secs(30 * 24 * 3600)).await {
            // The cached pages then live out their TTL: search may lag by 30 s while Redis is down.
            tracing::warn!(error = %e, "could not invalidate cached search pages");
        }
    }

    /// Runs a seller edit of `product_id` and, when it succeeded, invalidates what caches it.
    async fn edit<T>(&self, product_id: Option<i64>, result: Result<T, OrderError>) -> Result<T, OrderError> {
        if result.is_ok() {
            self.catalog_changed(product_id).await;
        }
        result
    }

    pub async fn create_product(
        &self,
        seller_id: AccountId,
        name: ProductName,
        description: Description,
        items: Vec<NewItem>,
    ) -> Result<Product, OrderError> {
        let seller_id = seller_id.get();
        let now = self.clock.now();
        let created = self
            .db
            .tx(move |conn| {
                let id = repo::insert_product(conn, seller_id, name.as_str(), description.as_str(), now)?;
                for item in &items {
                    repo::insert_item(conn, id, item, now)?;
                }
                let row = repo::find_live_product(conn, id)?.ok_or(OrderError::NotFound)?;
                Ok(repo::with_items(conn, vec![row])?.remove(0))
            })
            .await;
        self.edit(None, created).await
    }

    pub async fn seller_products(&self, seller_id: AccountId, page: PageRequest) -> Result<Page<Product>, OrderError> {
        let seller_id = seller_id.get();
        let (products, total) = self
            .db
            .run(move |conn| {
                let (rows, total) = repo::seller_products(conn, seller_id, page)?;
                Ok::<_, DbError>((repo::with_items(conn, rows)?, total))
            })
            .await?;
        Ok(Page::new(products, page, total))
    }

    pub async fn update_product(
        &self,
        seller_id: AccountId,
        id: ProductId,
        name: Option<ProductName>,
        description: Option<Description>,
    ) -> Result<Product, OrderError> {
        let seller_id = seller_id.get();
        let id = id.get();
        let now = self.clock.now();
        let updated = self
            .db
            .tx(move |conn| {
                repo::find_owned_product(conn, seller_id, id)?.ok_or(OrderError::NotFound)?;
                let (name, description) =
                    (name.as_ref().map(ProductName::as_str), description.as_ref().map(Description::as_str));
                repo::update_product(conn, id, name, description, now)?;
                let row = repo::find_live_product(conn, id)?.ok_or(OrderError::NotFound)?;
                Ok(repo::with_items(conn, vec![row])?.remove(0))
            })
            .await;
        self.edit(Some(id), updated).await
    }

    pub async fn delete_product(&self, seller_id: AccountId, id: ProductId) -> Result<(), OrderError> {
        let seller_id = seller_id.get();
        let id = id.get();
        let now = self.clock.now();
        let deleted = self
            .db
            .tx(move |conn| {
                repo::find_owned_product(conn, seller_id, id)?.ok_or(OrderError::NotFound)?;
                Ok(repo::soft_delete_product(conn, id, now)?)
            })
            .await;
        self.edit(Some(id), deleted).await
    }

    pub async fn add_item(
        &self,
        seller_id: AccountId,
        product_id: ProductId,
        item: NewItem,
    ) -> Result<Item, OrderError> {
        let seller_id = seller_id.get();
        let product_id = product_id.get();
        let now = self.clock.now();
        let added = self
            .db
            .tx(move |conn| {
                repo::find_owned_product(conn, seller_id, product_id)?.ok_or(OrderError::NotFound)?;
                if repo::live_items(conn, &[product_id])?.len() >= MAX_ITEMS_PER_PRODUCT {
                    return Err(OrderError::Invalid {
                        field: "items",
                        message: format!("a product has at most {MAX_ITEMS_PER_PRODUCT} items"),
                    });
                }
                let id = repo::insert_item(conn, product_id, &item, now)?;
                Ok(repo::find_live_item(conn, product_id, id)?.ok_or(OrderError::NotFound)?.view())
            })
            .await;
        self.edit(Some(product_id), added).await
    }

    pub async fn update_item(
        &self,
        seller_id: AccountId,
        product_id: ProductId,
        item_id: ItemId,
        update: ItemUpdate,
    ) -> Result<Item, OrderError> {
        let seller_id = seller_id.get();
        let product_id = product_id.get();
        let item_id = item_id.get();
        let now = self.clock.now();
        let updated = self
            .db
            .tx(move |conn| {
                repo::find_owned_product(conn, seller_id, product_id)?.ok_or(OrderError::NotFound)?;
                repo::find_live_item(conn, product_id, item_id)?.ok_or(OrderError::NotFound)?;
                let changes = repo::ItemChanges {
                    name: update.name.as_ref().map(ProductName::as_str),
                    price: update.price.map(Price::get),
                    stock: update.stock.map(Stock::get),
                };
                repo::update_item(conn, item_id, &changes, now)?;
                Ok(repo::find_live_item(conn, product_id, item_id)?.ok_or(OrderError::NotFound)?.view())
            })
            .await;
        self.edit(Some(product_id), updated).await
    }

    pub async fn delete_item(
        &self,
        seller_id: AccountId,
        product_id: ProductId,
        item_id: ItemId,
    ) -> Result<(), OrderError> {
        let seller_id = seller_id.get();
        let product_id = product_id.get();
        let item_id = item_id.get();
        let now = self.clock.now();
        let deleted = self
            .db
            .tx(move |conn| {
                repo::find_owned_product(conn, seller_id, product_id)?.ok_or(OrderError::NotFound)?;
                repo::find_live_item(conn, product_id, item_id)?.ok_or(OrderError::NotFound)?;
                Ok(repo::soft_delete_item(conn, item_id, now)?)
            })
            .await;
        self.edit(Some(product_id), deleted).await
    }

    /// Cached per catalog generation (for `SEARCH_CACHE_TTL` at most); a cache that is down only
    /// costs the database query.
    pub async fn search(&self, q: &str, page: PageRequest) -> Result<Page<ProductSummary>, OrderError> {
        let terms = search::query_terms(q);
        let excluded = self.suspensions.as_ref().map(Suspensions::suspended_ids).unwrap_or_default();
        let excluded_key: Vec<String> = excluded.iter().map(i64::to_string).collect();
        let generation = match self.cache.get(GENERATION_KEY).await {
            Ok(g) => Some(g.unwrap_or_else(|| "0".into())),
            Err(_) => None,
        };
        let key = generation.map(|g| {
            format!("search:{g}:{}:{}:{}:{}", page.page, page.size, excluded_key.join(","), terms.join("\u{1f}"))
        });
        if let Some(key) = &key
            && let Ok(Some(hit)) = self.cache.get(key).await
            && let Ok(found) = serde_json::from_str::<Page<ProductSummary>>(&hit)
        {
            metrics::counter!("catalog_searches_total", "source" => "cache").increment(1);
            return Ok(found);
        }
        let found = self.search_db(terms, excluded, page).await?;
        metrics::counter!("catalog_searches_total", "source" => "database").increment(1);
        if let (Some(key), Ok(json)) = (key, serde_json::to_string(&found)) {
            let _ = self.cache.set(&key, &json, SEARCH_CACHE_TTL).await;
        }
        Ok(found)
    }

    async fn search_db(
        &self,
        terms: Vec<String>,
        excluded: Vec<i64>,
        page: PageRequest,
    ) -> Result<Page<ProductSummary>, OrderError> {
        let (items, total) = self
            .db
            .run(move |conn| {
                let (rows, total) = repo::search(conn, &terms, &excluded, page)?;
                Ok::<_, DbError>((repo::summaries(conn, rows)?, total))
            })
            .await?;
        Ok(Page::new(items, page, total))
    }

    /// A live product, for anyone; a hidden one only for its seller (`viewer`).
    pub async fn product(&self, id: i64, viewer: Option<i64>) -> Result<Product, OrderError> {
        self.db
            .run(move |conn| {
                let row = repo::find_live_product(conn, id)?
                    .filter(|p| !p.hidden || Some(p.seller_id) == viewer)
                    .ok_or(OrderError::NotFound)?;
                Ok(repo::with_items(conn, vec![row])?.remove(0))
            })
            .await
    }

    /// Hides a product (moderation): 404 to everyone but its seller, out of search and carts.
    pub async fn hide_product(&self, id: i64) -> Result<HideOutcome, OrderError> {
        let outcome = self
            .db
            .tx(move |conn| {
                if repo::find_live_product(conn, id)?.is_none() {
                    return Ok::<_, OrderError>(HideOutcome::Gone);
                }
                Ok(if repo::hide_product(conn, id)? { HideOutcome::Hidden } else { HideOutcome::AlreadyHidden })
            })
            .await?;
        self.catalog_changed(Some(id)).await;
        Ok(outcome)
    }

    /// [`Catalog::product`] as the JSON the API answers, from memory when this instance may
    /// trust it (see `platform::hotcache`), otherwise from the database. Only visible
    /// products are kept: a hidden one's answer depends on who asks (its seller sees it).
    pub async fn product_json(&self, id: i64, viewer: Option<i64>) -> Result<actix_web::web::Bytes, OrderError> {
        let key = product_key(id);
        if let Some(hit) = self.hot.get(&key) {
            return Ok(hit);
        }
        let ticket = self.hot.ticket();
        let product = self.product(id, viewer).await?;
        let body = actix_web::web::Bytes::from(
            serde_json::to_vec(&product).map_err(|e| OrderError::Internal(anyhow::anyhow!("product json: {e}")))?,
        );
        if !product.hidden {
            self.hot.put(ticket, &key, Vec::new(), body.clone());
        }
        Ok(body)
    }
}

/// Drops the cached details of `products` (and the carts holding them) on every instance:
/// after checkout took stock or gave it back.
pub(crate) async fn stock_changed(hot: &HotCache, products: impl IntoIterator<Item = i64>) {
    let mut names: Vec<String> = products.into_iter().map(product_key).collect();
    names.sort();
    names.dedup();
    hot.invalidate(&names).await;
}

fn service_error(e: OrderError) -> ServiceError {
    match e {
        OrderError::Db(db) => db.into(),
        other => ServiceError::Internal(other.to_string()),
    }
}

/// Products as moderation sees them: anyone can report a product they can see.
#[async_trait]
impl ModerationTarget for Catalog {
    async fn snapshot(&self, viewer: i64, id: i64) -> Result<Option<TargetSnapshot>, ServiceError> {
        match self.product(id, Some(viewer)).await {
            Ok(p) => Ok(Some(TargetSnapshot {
                owner_id: p.seller_id,
                preview: serde_json::json!({
                    "name": p.name, "description": p.description, "seller_id": p.seller_id,
                    "items": p.items.iter().map(|i| serde_json::json!({"name": i.name, "price": i.price})).collect::<Vec<_>>(),
                }),
            })),
            Err(OrderError::NotFound) => Ok(None),
            Err(e) => Err(service_error(e)),
        }
    }

    async fn hide(&self, id: i64) -> Result<HideOutcome, ServiceError> {
        self.hide_product(id).await.map_err(service_error)
    }
}

#[async_trait]
impl CatalogService for Catalog {
    /// From memory when this instance may trust it (see `platform::hotcache`), the feed's
    /// hottest read: tagged with its products (a stock change drops it) and with
    /// `CATALOG_TAG` (so does any seller edit); read from the database, not from the
    /// cached search pages, whose stock may lag.
    async fn newest_products(&self, limit: u32) -> Result<Vec<ProductSummary>, ServiceError> {
        let page = PageRequest { page: 0, size: limit.clamp(1, 100) };
        let excluded = self.suspensions.as_ref().map(Suspensions::suspended_ids).unwrap_or_default();
        let excluded_key: Vec<String> = excluded.iter().map(i64::to_string).collect();
        let key = format!("newest:{}:{}", page.size, excluded_key.join(","));
        if let Some(hit) = self.hot.get(&key)
            && let Ok(items) = serde_json::from_slice::<Vec<ProductSummary>>(&hit)
        {
            return Ok(items);
        }
        let ticket = self.hot.ticket();
        let items = self.search_db(Vec::new(), excluded, page).await.map_err(service_error)?.items;
        if let Ok(json) = serde_json::to_vec(&items) {
            let tags = items.iter().map(|p| product_key(p.id)).chain([CATALOG_TAG.to_string()]).collect();
            self.hot.put(ticket, &key, tags, actix_web::web::Bytes::from(json));
        }
        Ok(items)
    }
}
