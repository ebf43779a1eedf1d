CREATE TABLE wallets (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    wallet_key VARCHAR(191) NOT NULL,
    balance BIGINT NOT NULL DEFAULT 0,
    allow_negative BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY wallets_key (wallet_key),
    CONSTRAINT wallets_not_negative CHECK (allow_negative OR balance >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE transfers (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    idempotency_key VARCHAR(191) NOT NULL,
    cancelled BOOLEAN NOT NULL DEFAULT FALSE,
    from_wallet_id BIGINT NOT NULL,
    to_wallet_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    kind VARCHAR(32) NOT NULL,
    reference VARCHAR(191) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY transfers_key (idempotency_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ledger_entries (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    wallet_id BIGINT NOT NULL,
    transfer_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    kind VARCHAR(32) NOT NULL,
    reference VARCHAR(191) NOT NULL,
    entry_key VARCHAR(200) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY ledger_entries_key (entry_key),
    KEY ledger_entries_wallet (wallet_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE charges (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    client_key VARCHAR(128) NOT NULL,
    request_hash CHAR(64) NOT NULL,
    amount BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    gateway VARCHAR(16) NOT NULL,
    gateway_order_id VARCHAR(64) NOT NULL,
    payment_key VARCHAR(200) NULL,
    balance_after BIGINT NULL,
    failure_code VARCHAR(100) NULL,
    failure_message VARCHAR(500) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    confirmed_at DATETIME(6) NULL,
    UNIQUE KEY charges_client_key (account_id, client_key),
    UNIQUE KEY charges_order (gateway_order_id),
    KEY charges_status (status, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
