ALTER TABLE missions DROP COLUMN hidden;
