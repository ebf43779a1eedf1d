//! Seeds a catalog of N products (1–3 items each) straight into the order tables, for
//! load tests of search and product detail at scale. Names mix English and Korean words.
//!
//!   cargo run --release --features app/mysql --example seed_products -- <database-url> [count]

use anyhow::Context;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use platform::config::{LoadOptions, Settings};
use platform::db::{Db, DbConn, DbError, write_tx};

const COLORS: &[&str] = &[
    "Blue", "Red", "Green", "Black", "White", "Ivory", "Navy", "Olive", "Coral", "Mint", "Gray", "Gold", "Silver",
    "Pink", "Amber", "Teal",
];
const MATERIALS: &[&str] = &[
    "Ceramic", "Wooden", "Steel", "Glass", "Cotton", "Linen", "Leather", "Bamboo", "Stone", "Copper", "Wool", "Paper",
];
const NOUNS: &[&str] = &[
    "Mug", "Plate", "Cup", "Bowl", "Lamp", "Chair", "Table", "Vase", "Tray", "Bag", "Scarf", "Pillow", "Blanket",
    "Notebook", "Pen", "Clock", "Mirror", "Basket", "Candle", "Teapot",
];
const KOREAN: &[&str] =
    &["머그", "컵", "접시", "의자", "램프", "가방", "수건", "이불", "시계", "화분", "쟁반", "바구니"];

/// A small deterministic generator (xorshift), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[(self.next() % list.len() as u64) as usize]
    }
}

fn insert_rows(conn: &mut DbConn, sql_head: &str, cols: usize, rows: &[Vec<Value>]) -> Result<(), DbError> {
    // Chunks keep each statement under SQLite's 32,766 bound parameters.
    for chunk in rows.chunks(4000 / cols) {
        let placeholders = vec![format!("({})", vec!["?"; cols].join(", ")); chunk.len()].join(", ");
        let mut q = diesel::sql_query(format!("{sql_head} VALUES {placeholders}"))
            .into_boxed::<<DbConn as diesel::Connection>::Backend>();
        for row in chunk {
            for value in row {
                q = match value {
                    Value::Int(v) => q.bind::<BigInt, _>(*v),
                    Value::Text(v) => q.bind::<Text, _>(v.clone()),
                    Value::Time(v) => q.bind::<Timestamp, _>(*v),
                };
            }
        }
        q.execute(conn)?;
    }
    Ok(())
}

enum Value {
    Int(i64),
    Text(String),
    Time(chrono::NaiveDateTime),
}

#[derive(QueryableByName)]
struct MaxId {
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().context("usage: seed_products <database-url> [count]")?;
    let count: i64 = args.next().map(|c| c.parse()).transpose()?.unwrap_or(100_000);
    let settings = Settings::load(LoadOptions::default())?;
    let db = Db::connect("seed", &url, &settings.database)?;
    db.migrate(&[&order::MIGRATIONS])?;
    let now = chrono::Utc::now().naive_utc();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = std::time::Instant::now();
    let (mut next_product, mut next_item) = db.run_blocking(|conn| {
        let p: MaxId = diesel::sql_query("SELECT MAX(id) AS id FROM products").get_result(conn)?;
        let i: MaxId = diesel::sql_query("SELECT MAX(id) AS id FROM product_items").get_result(conn)?;
        Ok::<_, DbError>((p.id.unwrap_or(0) + 1, i.id.unwrap_or(0) + 1))
    })?;
    let batch = 1000;
    let mut done = 0;
    while done < count {
        let n = batch.min(count - done);
        let (mut products, mut items, mut terms) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let id = next_product;
            next_product += 1;
            let mut name = format!("{} {} {}", rng.pick(COLORS), rng.pick(MATERIALS), rng.pick(NOUNS));
            if rng.next().is_multiple_of(3) {
                name.push(' ');
                name.push_str(rng.pick(KOREAN));
            }
            // Unique per seller: the id makes every name distinct.
            name.push_str(&format!(" #{id}"));
            let seller = (rng.next() % 100) as i64 + 1;
            products.push(vec![
                Value::Int(id),
                Value::Int(seller),
                Value::Text(name.clone()),
                Value::Text(name.to_lowercase()),
                Value::Text(format!("Seeded product {id}")),
                Value::Time(now),
                Value::Time(now),
            ]);
            for k in 0..(rng.next() % 3 + 1) {
                let price = ((rng.next() % 500) as i64 + 1) * 100;
                let stock = (rng.next() % 50) as i64;
                items.push(vec![
                    Value::Int(next_item),
                    Value::Int(id),
                    Value::Text(format!("Option {k}")),
                    Value::Text(format!("option {k}")),
                    Value::Int(price),
                    Value::Int(stock),
                    Value::Time(now),
                    Value::Time(now),
                ]);
                next_item += 1;
            }
            for term in order::catalog::search::index_terms(&name) {
                terms.push(vec![Value::Text(term), Value::Int(id)]);
            }
        }
        db.run_blocking(|conn| {
            write_tx(conn, |conn| {
                insert_rows(conn, "INSERT INTO products (id, seller_id, name, active_name, description, created_at, updated_at)", 7, &products)?;
                insert_rows(conn, "INSERT INTO product_items (id, product_id, name, active_name, price, stock, created_at, updated_at)", 8, &items)?;
                insert_rows(conn, "INSERT INTO product_search_terms (term, product_id)", 2, &terms)?;
                Ok::<_, DbError>(())
            })
        })?;
        done += n;
        eprintln!("{done}/{count} products ({:.1} s)", start.elapsed().as_secs_f64());
    }
    Ok(())
}
