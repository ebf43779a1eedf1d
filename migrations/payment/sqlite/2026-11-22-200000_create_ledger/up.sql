-- A wallet per key: `account:<id>`, `escrow:<flow>:<id>`, `system:<name>`. Only system
-- wallets (money outside the platform) may go negative, so all balances always sum to 0.
CREATE TABLE wallets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    wallet_key TEXT NOT NULL UNIQUE,
    balance BIGINT NOT NULL DEFAULT 0,
    allow_negative BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (allow_negative OR balance >= 0)
);

-- One row per applied idempotency key: applying a key twice moves money once. A cancelled
-- key (a saga's fence) is a row with `cancelled` set, no amount and no entries.
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    cancelled BOOLEAN NOT NULL DEFAULT 0,
    from_wallet_id BIGINT NOT NULL,
    to_wallet_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Two signed entries per transfer; a wallet's balance is the sum of its entries.
CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    wallet_id BIGINT NOT NULL,
    transfer_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    entry_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_entries_wallet ON ledger_entries (wallet_id, id);

-- Point purchases. The client's Idempotency-Key is scoped to the account (and to this
-- endpoint, by living in this table), apart from the ledger's internal transfer keys.
CREATE TABLE charges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL,
    client_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    gateway TEXT NOT NULL,
    gateway_order_id TEXT NOT NULL UNIQUE,
    payment_key TEXT NULL,
    balance_after BIGINT NULL,
    failure_code TEXT NULL,
    failure_message TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP NULL,
    UNIQUE (account_id, client_key)
);
CREATE INDEX charges_status ON charges (status, updated_at);
