DROP TABLE order_shipments;
DROP INDEX orders_placed ON orders;
UPDATE orders SET status = 'paid' WHERE paid_at IS NOT NULL;
DROP INDEX order_lines_money ON order_lines;
DROP INDEX order_lines_auto_confirm ON order_lines;
DROP INDEX order_lines_item ON order_lines;
ALTER TABLE order_lines
    DROP COLUMN status, DROP COLUMN fee, DROP COLUMN auto_confirm_at, DROP COLUMN money_due,
    DROP COLUMN money_retry_at, DROP COLUMN version, DROP COLUMN updated_at;
ALTER TABLE carts DROP COLUMN checkout_order_id;
ALTER TABLE product_items DROP CONSTRAINT product_items_reserved;
UPDATE product_items SET stock = stock - reserved;
ALTER TABLE product_items DROP COLUMN reserved;
