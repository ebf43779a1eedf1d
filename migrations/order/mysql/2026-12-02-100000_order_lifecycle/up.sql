-- Stock model: `stock` is on hand, `reserved` is held by pending checkouts and unshipped
-- lines, `available = stock - reserved`. Until now checkouts took stock directly, so what a
-- pending checkout holds moves from `stock` into `reserved`.
ALTER TABLE product_items ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0;
UPDATE product_items SET reserved = (
    SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id
    WHERE o.status = 'pending' AND l.item_id = product_items.id
);
UPDATE product_items SET stock = stock + reserved;
ALTER TABLE product_items ADD CONSTRAINT product_items_reserved CHECK (reserved >= 0 AND reserved <= stock);

-- A cart is checked out once: the checkout that holds it.
ALTER TABLE carts ADD COLUMN checkout_order_id BIGINT NULL;

-- The line lifecycle. Lines sold before escrow existed were paid to their sellers at
-- checkout: they become `confirmed` (final, nothing left in escrow, fee 0).
ALTER TABLE order_lines
    ADD COLUMN status VARCHAR(20) NOT NULL DEFAULT 'confirmed',
    ADD COLUMN fee BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN auto_confirm_at DATETIME(6) NULL,
    ADD COLUMN money_due VARCHAR(16) NULL,
    ADD COLUMN money_retry_at DATETIME(6) NULL,
    ADD COLUMN version BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN updated_at DATETIME(6) NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE order_lines SET updated_at = (SELECT o.updated_at FROM orders o WHERE o.id = order_lines.order_id);
CREATE UNIQUE INDEX order_lines_item ON order_lines (order_id, item_id);
CREATE INDEX order_lines_auto_confirm ON order_lines (status, auto_confirm_at);
CREATE INDEX order_lines_money ON order_lines (money_due, money_retry_at);

-- `orders.status` is now the derived order status once paid (`paid`, `in_progress`,
-- `completed`, `cancelled`); `pending`/`failed` remain the checkout saga's.
UPDATE orders SET status = 'completed' WHERE status = 'paid';
CREATE INDEX orders_placed ON orders (buyer_id, paid_at, id);

-- How a line was shipped (one row per shipped line; kept when the line moves on).
CREATE TABLE order_shipments (
    order_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL,
    carrier VARCHAR(100) NOT NULL,
    tracking_number VARCHAR(100) NOT NULL,
    shipped_at DATETIME(6) NOT NULL,
    PRIMARY KEY (order_id, item_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
