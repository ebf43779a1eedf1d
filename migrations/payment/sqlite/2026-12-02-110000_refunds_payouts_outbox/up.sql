-- Points refunded to the card so far (pending and done refunds; a refused one is taken
-- off again).
ALTER TABLE charges ADD COLUMN refunded_amount BIGINT NOT NULL DEFAULT 0;

-- Charges operators must look at: cancelled at the gateway after their points were spent.
CREATE TABLE charge_attention (
    charge_id BIGINT NOT NULL PRIMARY KEY,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- One row per refund of a charge: `pending` (points out, gateway cancel sent or to be
-- looked up), `done`, or `refused` (points given back). `source` is `client` (the
-- owner's request, with its Idempotency-Key) or `gateway` (cancelled at Toss, learnt from
-- a lookup). A refused client refund frees its key (client_key set to NULL).
CREATE TABLE charge_refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    client_key TEXT NULL,
    request_hash TEXT NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    failure_code TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, client_key)
);
CREATE INDEX charge_refunds_charge ON charge_refunds (charge_id, id);
CREATE INDEX charge_refunds_status ON charge_refunds (status, updated_at);

-- Payouts to sellers and streamers. The points wait in the escrow `escrow:payout:<id>`
-- until the gateway pays (→ `system:payouts`) or fails (→ back to the account).
-- `account_number_enc` is AES-256-GCM under `payment.payout_encryption_key`.
CREATE TABLE payouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL,
    client_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    gateway TEXT NOT NULL,
    bank_code TEXT NOT NULL,
    account_number_enc TEXT NOT NULL,
    account_number_masked TEXT NOT NULL,
    account_holder TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    failure_reason TEXT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP NULL,
    UNIQUE (account_id, client_key)
);
CREATE INDEX payouts_account ON payouts (account_id, id);
CREATE INDEX payouts_status ON payouts (status, updated_at);
