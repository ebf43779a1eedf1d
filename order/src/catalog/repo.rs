//! Catalog queries; synchronous, run on the blocking pool.

use super::model::{Item, NewItem, Product, name_key};
use super::search::index_terms;
use crate::error::OrderError;
use crate::schema::{product_items, product_search_terms, products};
use chrono::{DateTime, NaiveDateTime, Utc};
use contracts::PageRequest;
use contracts::catalog::ProductSummary;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use platform::clock::{from_db, to_db};
use platform::db::OnDuplicate;
use platform::db::{CountRow, DbConn, DbError, last_insert_id, load_ids};
use std::collections::HashMap;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = products)]
pub struct ProductRow {
    pub id: i64,
    pub seller_id: i64,
    pub name: String,
    pub description: String,
    pub created_at: NaiveDateTime,
    pub hidden: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = product_items)]
pub struct ItemRow {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub price: i64,
    pub stock: i64,
    pub reserved: i64,
}

impl ItemRow {
    pub fn available(&self) -> i64 {
        self.stock - self.reserved
    }

    pub fn view(&self) -> Item {
        Item {
            id: self.id,
            name: self.name.clone(),
            price: self.price,
            stock: self.stock,
            reserved: self.reserved,
            available: self.available(),
        }
    }
}

pub fn insert_product(
    conn: &mut DbConn,
    seller_id: i64,
    name: &str,
    description: &str,
    now: DateTime<Utc>,
) -> Result<i64, OrderError> {
    diesel::insert_into(products::table)
        .values((
            products::seller_id.eq(seller_id),
            products::name.eq(name),
            products::active_name.eq(Some(name_key(name))),
            products::description.eq(description),
            products::created_at.eq(to_db(now)),
            products::updated_at.eq(to_db(now)),
        ))
        .execute(conn)
        .on_duplicate(|| OrderError::NameTaken(name.to_string()))?;
    let id = last_insert_id(conn)?;
    set_terms(conn, id, name)?;
    Ok(id)
}

pub fn insert_item(conn: &mut DbConn, product_id: i64, item: &NewItem, now: DateTime<Utc>) -> Result<i64, OrderError> {
    diesel::insert_into(product_items::table)
        .values((
            product_items::product_id.eq(product_id),
            product_items::name.eq(item.name.as_str()),
            product_items::active_name.eq(Some(name_key(item.name.as_str()))),
            product_items::price.eq(item.price.get()),
            product_items::stock.eq(item.stock.get()),
            product_items::created_at.eq(to_db(now)),
            product_items::updated_at.eq(to_db(now)),
        ))
        .execute(conn)
        .on_duplicate(|| OrderError::NameTaken(item.name.as_str().to_string()))?;
    Ok(last_insert_id(conn)?)
}

/// Replaces the search terms of a product (one multi-row insert).
pub fn set_terms(conn: &mut DbConn, product_id: i64, name: &str) -> Result<(), DbError> {
    delete_terms(conn, product_id)?;
    let terms = index_terms(name);
    if terms.is_empty() {
        return Ok(());
    }
    let placeholders = vec!["(?, ?)"; terms.len()].join(", ");
    let mut insert =
        diesel::sql_query(format!("INSERT INTO product_search_terms (term, product_id) VALUES {placeholders}"))
            .into_boxed::<<DbConn as diesel::Connection>::Backend>();
    for term in terms {
        insert = insert.bind::<Text, _>(term).bind::<BigInt, _>(product_id);
    }
    insert.execute(conn)?;
    Ok(())
}

pub fn delete_terms(conn: &mut DbConn, product_id: i64) -> Result<(), DbError> {
    diesel::delete(product_search_terms::table.filter(product_search_terms::product_id.eq(product_id)))
        .execute(conn)?;
    Ok(())
}

pub fn find_live_product(conn: &mut DbConn, id: i64) -> Result<Option<ProductRow>, DbError> {
    Ok(products::table
        .find(id)
        .filter(products::deleted_at.is_null())
        .select(ProductRow::as_select())
        .first(conn)
        .optional()?)
}

/// A live product of this seller; `None` for anyone else's (answered as 404).
pub fn find_owned_product(conn: &mut DbConn, seller_id: i64, id: i64) -> Result<Option<ProductRow>, DbError> {
    Ok(find_live_product(conn, id)?.filter(|p| p.seller_id == seller_id))
}

pub fn live_items(conn: &mut DbConn, product_ids: &[i64]) -> Result<Vec<ItemRow>, DbError> {
    if product_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(product_items::table
        .filter(product_items::product_id.eq_any(product_ids))
        .filter(product_items::deleted_at.is_null())
        .order(product_items::id.asc())
        .select(ItemRow::as_select())
        .load(conn)?)
}

pub fn find_live_item(conn: &mut DbConn, product_id: i64, item_id: i64) -> Result<Option<ItemRow>, DbError> {
    Ok(product_items::table
        .find(item_id)
        .filter(product_items::product_id.eq(product_id))
        .filter(product_items::deleted_at.is_null())
        .select(ItemRow::as_select())
        .first(conn)
        .optional()?)
}

/// Products with their live items, in the order given.
pub fn with_items(conn: &mut DbConn, rows: Vec<ProductRow>) -> Result<Vec<Product>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut items: HashMap<i64, Vec<Item>> = HashMap::new();
    for item in live_items(conn, &ids)? {
        items.entry(item.product_id).or_default().push(item.view());
    }
    Ok(rows
        .into_iter()
        .map(|r| Product {
            items: items.remove(&r.id).unwrap_or_default(),
            id: r.id,
            seller_id: r.seller_id,
            name: r.name,
            description: r.description,
            created_at: from_db(r.created_at),
            hidden: r.hidden,
        })
        .collect())
}

pub fn seller_products(
    conn: &mut DbConn,
    seller_id: i64,
    page: PageRequest,
) -> Result<(Vec<ProductRow>, i64), DbError> {
    let mine = || products::table.filter(products::seller_id.eq(seller_id)).filter(products::deleted_at.is_null());
    let total: i64 = mine().count().get_result(conn)?;
    let rows = mine()
        .order(products::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(ProductRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

pub fn update_product(
    conn: &mut DbConn,
    id: i64,
    name: Option<&str>,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    if let Some(name) = name {
        diesel::update(products::table.find(id))
            .set((
                products::name.eq(name),
                products::active_name.eq(Some(name_key(name))),
                products::updated_at.eq(to_db(now)),
            ))
            .execute(conn)
            .on_duplicate(|| OrderError::NameTaken(name.to_string()))?;
        set_terms(conn, id, name)?;
    }
    if let Some(description) = description {
        diesel::update(products::table.find(id))
            .set((products::description.eq(description), products::updated_at.eq(to_db(now))))
            .execute(conn)?;
    }
    Ok(())
}

pub fn soft_delete_product(conn: &mut DbConn, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::update(products::table.find(id))
        .set((
            products::deleted_at.eq(Some(to_db(now))),
            products::active_name.eq(None::<String>),
            products::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    delete_terms(conn, id)
}

pub struct ItemChanges<'a> {
    pub name: Option<&'a str>,
    pub price: Option<i64>,
    pub stock: Option<i64>,
}

pub fn update_item(
    conn: &mut DbConn,
    item_id: i64,
    changes: &ItemChanges<'_>,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    let target = || product_items::table.find(item_id);
    if let Some(name) = changes.name {
        diesel::update(target())
            .set((product_items::name.eq(name), product_items::active_name.eq(Some(name_key(name)))))
            .execute(conn)
            .on_duplicate(|| OrderError::NameTaken(name.to_string()))?;
    }
    if let Some(price) = changes.price {
        diesel::update(target()).set(product_items::price.eq(price)).execute(conn)?;
    }
    if let Some(stock) = changes.stock {
        // Never below what checkouts and unshipped lines hold (a conditional update: a
        // concurrent reservation cannot slip in between a check and the write).
        let set = diesel::update(target().filter(product_items::reserved.le(stock)))
            .set(product_items::stock.eq(stock))
            .execute(conn)?;
        if set == 0 {
            let reserved = product_items::table.find(item_id).select(product_items::reserved).first(conn)?;
            return Err(OrderError::StockReserved(reserved));
        }
    }
    diesel::update(target()).set(product_items::updated_at.eq(to_db(now))).execute(conn)?;
    Ok(())
}

pub fn soft_delete_item(conn: &mut DbConn, item_id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    diesel::update(product_items::table.find(item_id))
        .set((
            product_items::deleted_at.eq(Some(to_db(now))),
            product_items::active_name.eq(None::<String>),
            product_items::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Live products matching every term, newest first. Driven by the index of the longest
/// (most selective) term, joined on the others; terms exist only for live products.
pub fn search(
    conn: &mut DbConn,
    terms: &[String],
    excluded_sellers: &[i64],
    page: PageRequest,
) -> Result<(Vec<ProductRow>, i64), DbError> {
    if terms.is_empty() {
        let live = || {
            let mut q =
                products::table.filter(products::deleted_at.is_null()).filter(products::hidden.eq(false)).into_boxed();
            if !excluded_sellers.is_empty() {
                q = q.filter(products::seller_id.ne_all(excluded_sellers.to_vec()));
            }
            q
        };
        let total: i64 = live().count().get_result(conn)?;
        let rows = live()
            .order(products::id.desc())
            .offset(page.offset())
            .limit(page.limit())
            .select(ProductRow::as_select())
            .load(conn)?;
        return Ok((rows, total));
    }
    let mut ordered: Vec<&String> = terms.iter().collect();
    ordered.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
    let (driver, others) = ordered.split_first().map(|(d, o)| (*d, o.to_vec())).unwrap_or((&terms[0], Vec::new()));
    let joins: String = (1..=others.len())
        .map(|i| format!(" JOIN product_search_terms t{i} ON t{i}.product_id = t0.product_id AND t{i}.term = ?"))
        .collect();
    // Hidden products and those of suspended sellers are left out (ids are integers, so
    // they are spliced in as they are).
    let excluded = if excluded_sellers.is_empty() {
        String::new()
    } else {
        let ids: Vec<String> = excluded_sellers.iter().map(i64::to_string).collect();
        format!(" AND p.seller_id NOT IN ({})", ids.join(", "))
    };
    let from = format!(
        "FROM product_search_terms t0{joins} JOIN products p ON p.id = t0.product_id AND p.hidden = FALSE \
         AND p.deleted_at IS NULL{excluded} WHERE t0.term = ?"
    );
    type Backend = <DbConn as diesel::Connection>::Backend;
    let bind_all = |sql: String| {
        let mut q = diesel::sql_query(sql).into_boxed::<Backend>();
        for term in &others {
            q = q.bind::<Text, _>((*term).clone());
        }
        q.bind::<Text, _>(driver.clone())
    };
    let total = bind_all(format!("SELECT COUNT(*) AS n {from}")).get_result::<CountRow>(conn)?.n;
    let ids = load_ids(
        conn,
        bind_all(format!("SELECT t0.product_id AS id {from} ORDER BY t0.product_id DESC LIMIT ? OFFSET ?"))
            .bind::<BigInt, _>(page.limit())
            .bind::<BigInt, _>(page.offset()),
    )?;
    if ids.is_empty() {
        return Ok((Vec::new(), total));
    }
    let mut rows: Vec<ProductRow> = products::table
        .filter(products::id.eq_any(&ids))
        .filter(products::deleted_at.is_null())
        .select(ProductRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|r| std::cmp::Reverse(r.id));
    Ok((rows, total))
}

/// `min_price` and `in_stock` for each product, from its live items.
pub fn summaries(conn: &mut DbConn, rows: Vec<ProductRow>) -> Result<Vec<ProductSummary>, DbError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut stats: HashMap<i64, (i64, bool)> = HashMap::new();
    for item in live_items(conn, &ids)? {
        let entry = stats.entry(item.product_id).or_insert((item.price, false));
        entry.0 = entry.0.min(item.price);
        entry.1 |= item.available() > 0;
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let stat = stats.get(&r.id).copied();
            ProductSummary {
                id: r.id,
                seller_id: r.seller_id,
                name: r.name,
                min_price: stat.map(|s| s.0),
                in_stock: stat.is_some_and(|s| s.1),
            }
        })
        .collect())
}

/// `true` when this call hid it; its search terms go, so it leaves search at once.
pub fn hide_product(conn: &mut DbConn, id: i64) -> Result<bool, DbError> {
    let n = diesel::update(products::table.find(id).filter(products::hidden.eq(false)))
        .set(products::hidden.eq(true))
        .execute(conn)?;
    delete_terms(conn, id)?;
    Ok(n == 1)
}
