-- Events the chat module announces (chat.message_posted), written with the message.
CREATE TABLE chat_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at TIMESTAMP NOT NULL,
    claim_token TEXT NULL,
    last_error TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP NULL
);
CREATE INDEX chat_outbox_ready ON chat_outbox (status, available_at, id);
