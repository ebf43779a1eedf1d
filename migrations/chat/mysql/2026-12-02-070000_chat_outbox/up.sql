-- Events the chat module announces (chat.message_posted), written with the message.
CREATE TABLE chat_outbox (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    topic VARCHAR(100) NOT NULL,
    payload LONGTEXT NOT NULL,
    dedupe_key VARCHAR(191) NULL,
    status VARCHAR(16) NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    available_at DATETIME(6) NOT NULL,
    claim_token VARCHAR(64) NULL,
    last_error TEXT NULL,
    created_at DATETIME(6) NOT NULL,
    processed_at DATETIME(6) NULL,
    UNIQUE KEY chat_outbox_dedupe (dedupe_key),
    KEY chat_outbox_ready (status, available_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
