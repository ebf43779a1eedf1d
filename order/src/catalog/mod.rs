//! Sellers' products and items, public search and detail, and the `CatalogService` contract.

pub mod http;
pub mod model;
pub(crate) mod repo;
pub mod search;

use crate::error::OrderError;
use async_trait::async_trait;
use contracts::catalog::{CatalogService, ProductSummary};
use contracts::{Page, PageRequest, ServiceError};
use model::{Item, MAX_ITEMS_PER_PRODUCT, NewItem, Product};
use platform::clock::SharedClock;
use platform::db::{Db, DbError};

pub struct Catalog {
    db: Db,
    clock: SharedClock,
}

/// Changes to an item; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ItemUpdate {
    pub name: Option<String>,
    pub price: Option<i64>,
    pub stock: Option<i64>,
}

impl Catalog {
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Catalog { db, clock }
    }

    pub async fn create_product(
        &self,
        seller_id: i64,
        name: String,
        description: String,
        items: Vec<NewItem>,
    ) -> Result<Product, OrderError> {
        let now = self.clock.now();
        self.db
            .tx(move |conn| {
                let id = repo::insert_product(conn, seller_id, &name, &description, now)?;
                for item in &items {
                    repo::insert_item(conn, id, item, now)?;
                }
                let row = repo::find_live_product(conn, id)?.ok_or(OrderError::NotFound)?;
                Ok(repo::with_items(conn, vec![row])?.remove(0))
            })
            .await
    }

    pub async fn seller_products(&self, seller_id: i64, page: PageRequest) -> Result<Page<Product>, OrderError> {
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
        seller_id: i64,
        id: i64,
        name: Option<String>,
        description: Option<String>,
    ) -> Result<Product, OrderError> {
        let now = self.clock.now();
        self.db
            .tx(move |conn| {
                repo::find_owned_product(conn, seller_id, id)?.ok_or(OrderError::NotFound)?;
                repo::update_product(conn, id, name.as_deref(), description.as_deref(), now)?;
                let row = repo::find_live_product(conn, id)?.ok_or(OrderError::NotFound)?;
                Ok(repo::with_items(conn, vec![row])?.remove(0))
            })
            .await
    }

    pub async fn delete_product(&self, seller_id: i64, id: i64) -> Result<(), OrderError> {
        let now = self.clock.now();
        self.db
            .tx(move |conn| {
                repo::find_owned_product(conn, seller_id, id)?.ok_or(OrderError::NotFound)?;
                Ok(repo::soft_delete_product(conn, id, now)?)
            })
            .await
    }

    pub async fn add_item(&self, seller_id: i64, product_id: i64, item: NewItem) -> Result<Item, OrderError> {
        let now = self.clock.now();
        self.db
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
            .await
    }

    pub async fn update_item(
        &self,
        seller_id: i64,
        product_id: i64,
        item_id: i64,
        update: ItemUpdate,
    ) -> Result<Item, OrderError> {
        let now = self.clock.now();
        self.db
            .tx(move |conn| {
                repo::find_owned_product(conn, seller_id, product_id)?.ok_or(OrderError::NotFound)?;
                repo::find_live_item(conn, product_id, item_id)?.ok_or(OrderError::NotFound)?;
                let changes =
                    repo::ItemChanges { name: update.name.as_deref(), price: update.price, stock: update.stock };
                repo::update_item(conn, item_id, &changes, now)?;
                Ok(repo::find_live_item(conn, product_id, item_id)?.ok_or(OrderError::NotFound)?.view())
            })
            .await
    }

    pub async fn delete_item(&self, seller_id: i64, product_id: i64, item_id: i64) -> Result<(), OrderError> {
        let now = self.clock.now();
        self.db
            .tx(move |conn| {
                repo::find_owned_product(conn, seller_id, product_id)?.ok_or(OrderError::NotFound)?;
                repo::find_live_item(conn, product_id, item_id)?.ok_or(OrderError::NotFound)?;
                Ok(repo::soft_delete_item(conn, item_id, now)?)
            })
            .await
    }

    pub async fn search(&self, q: &str, page: PageRequest) -> Result<Page<ProductSummary>, OrderError> {
        let terms = search::query_terms(q);
        let (items, total) = self
            .db
            .run(move |conn| {
                let (rows, total) = repo::search(conn, &terms, page)?;
                Ok::<_, DbError>((repo::summaries(conn, rows)?, total))
            })
            .await?;
        Ok(Page::new(items, page, total))
    }

    /// A live product, for anyone.
    pub async fn product(&self, id: i64) -> Result<Product, OrderError> {
        self.db
            .run(move |conn| {
                let row = repo::find_live_product(conn, id)?.ok_or(OrderError::NotFound)?;
                Ok(repo::with_items(conn, vec![row])?.remove(0))
            })
            .await
    }
}

#[async_trait]
impl CatalogService for Catalog {
    async fn newest_products(&self, limit: u32) -> Result<Vec<ProductSummary>, ServiceError> {
        let page = PageRequest { page: 0, size: limit.clamp(1, 100) };
        self.search("", page).await.map(|p| p.items).map_err(|e| match e {
            OrderError::Db(db) => db.into(),
            other => ServiceError::Internal(other.to_string()),
        })
    }
}
