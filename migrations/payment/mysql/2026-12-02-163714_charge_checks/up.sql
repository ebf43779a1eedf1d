-- See the SQLite twin for what the table holds.
CREATE TABLE charge_lookups (
    charge_id BIGINT NOT NULL PRIMARY KEY,
    checked_at DATETIME(6) NOT NULL,
    KEY charge_lookups_checked (checked_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO charge_lookups (charge_id, checked_at)
    SELECT id, updated_at FROM charges WHERE status = 'pending' AND payment_key IS NOT NULL;
CREATE INDEX charges_keyless_pending ON charges (status, payment_key, created_at);
