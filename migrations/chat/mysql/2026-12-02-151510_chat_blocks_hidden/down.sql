DROP TABLE chat_blocks;
ALTER TABLE chat_messages DROP COLUMN hidden;
