-- See the SQLite twin for what each table holds.
ALTER TABLE charges ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0;

CREATE TABLE charge_attention (
    charge_id BIGINT NOT NULL PRIMARY KEY,
    reason VARCHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE charge_refunds (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    charge_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    client_key VARCHAR(128) NULL,
    request_hash CHAR(64) NOT NULL,
    amount BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    source VARCHAR(16) NOT NULL,
    failure_code VARCHAR(100) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY charge_refunds_client_key (account_id, client_key),
    KEY charge_refunds_charge (charge_id, id),
    KEY charge_refunds_status (status, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE payouts (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    client_key VARCHAR(128) NOT NULL,
    request_hash CHAR(64) NOT NULL,
    amount BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    gateway VARCHAR(16) NOT NULL,
    bank_code VARCHAR(8) NOT NULL,
    account_number_enc VARCHAR(255) NOT NULL,
    account_number_masked VARCHAR(40) NOT NULL,
    account_holder VARCHAR(100) NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    failure_reason VARCHAR(500) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    completed_at DATETIME(6) NULL,
    UNIQUE KEY payouts_client_key (account_id, client_key),
    KEY payouts_account (account_id, id),
    KEY payouts_status (status, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
