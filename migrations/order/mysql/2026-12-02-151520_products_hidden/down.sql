ALTER TABLE products DROP COLUMN hidden;
