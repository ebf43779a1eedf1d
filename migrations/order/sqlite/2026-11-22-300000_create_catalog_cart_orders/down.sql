DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE cart_notices;
DROP TABLE cart_lines;
DROP TABLE carts;
DROP TABLE product_search_terms;
DROP TABLE product_items;
DROP TABLE products;
