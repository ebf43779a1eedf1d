-- Hidden by moderation: 404 to everyone but the seller, out of search and carts.
ALTER TABLE products ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;
