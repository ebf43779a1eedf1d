-- The incremental ledger audit: each wallet's sum of the entries up to the high-water mark,
-- so a pass reads only the entries above it.
CREATE TABLE ledger_audit_sums (
    wallet_id BIGINT NOT NULL PRIMARY KEY,
    entries_sum BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row: the mark (entries with id <= high_water are folded into ledger_audit_sums) and
-- the outcome of the last pass, which every instance exports as gauges.
CREATE TABLE ledger_audit_state (
    id BIGINT NOT NULL PRIMARY KEY,
    high_water BIGINT NOT NULL,
    passes BIGINT NOT NULL,
    checked_at DATETIME(6) NULL,
    wallets BIGINT NOT NULL,
    mismatches BIGINT NOT NULL,
    sum_of_balances BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO ledger_audit_state (id, high_water, passes, checked_at, wallets, mismatches, sum_of_balances)
VALUES (1, 0, 0, NULL, 0, 0, 0);
