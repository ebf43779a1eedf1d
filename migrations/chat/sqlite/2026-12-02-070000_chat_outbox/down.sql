DROP TABLE chat_outbox;
