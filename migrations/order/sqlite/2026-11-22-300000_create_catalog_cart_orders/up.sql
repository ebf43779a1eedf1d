-- Products and their items (options/SKUs). Deletion is soft: orders keep their snapshot.
-- `active_name` is the lower-cased name while the row is live and NULL once deleted, so a
-- name is unique among a seller's live products (NULLs never collide in a UNIQUE index).
CREATE TABLE products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seller_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    active_name TEXT NULL,
    description TEXT NOT NULL,
    deleted_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (seller_id, active_name)
);
CREATE INDEX products_seller ON products (seller_id, deleted_at, id);

CREATE TABLE product_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    active_name TEXT NULL,
    price BIGINT NOT NULL,
    stock BIGINT NOT NULL,
    deleted_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (product_id, active_name),
    CHECK (stock >= 0),
    CHECK (price >= 0)
);
CREATE INDEX product_items_product ON product_items (product_id, id);

-- Search index: every prefix (up to 20 characters) of every word of a live product's name.
-- Portable, and unlike InnoDB FULLTEXT it finds one- and two-letter words ("머그").
CREATE TABLE product_search_terms (
    term TEXT NOT NULL,
    product_id BIGINT NOT NULL,
    PRIMARY KEY (term, product_id)
);
CREATE INDEX product_search_terms_product ON product_search_terms (product_id);

-- Carts: the database is the truth (Redis caches it). `version` orders cache writes.
CREATE TABLE carts (
    buyer_id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- `unit_price` is the price the buyer was last shown: a different catalog price is a change.
CREATE TABLE cart_lines (
    buyer_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (buyer_id, item_id)
);

-- Changes found by reconciliation, shown once by the next cart response.
CREATE TABLE cart_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    buyer_id BIGINT NOT NULL,
    message TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX cart_notices_buyer ON cart_notices (buyer_id, id);

-- Orders are sagas: `pending` (stock reserved) → `paid`, or → `failed` (compensated).
-- The client's Idempotency-Key lives here, scoped to the buyer; a failed order frees it.
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    buyer_id BIGINT NOT NULL,
    client_key TEXT NULL,
    request_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    total BIGINT NOT NULL,
    failure TEXT NULL,
    recover_after TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP NULL,
    UNIQUE (buyer_id, client_key)
);
CREATE INDEX orders_buyer ON orders (buyer_id, status, id);
CREATE INDEX orders_recovery ON orders (status, recover_after);

CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL,
    seller_id BIGINT NOT NULL,
    product_name TEXT NOT NULL,
    item_name TEXT NOT NULL,
    price BIGINT NOT NULL,
    quantity BIGINT NOT NULL
);
CREATE INDEX order_lines_order ON order_lines (order_id);
CREATE INDEX order_lines_seller ON order_lines (seller_id, order_id);
