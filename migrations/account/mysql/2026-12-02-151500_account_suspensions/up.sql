-- One row per suspended account; deleted on reinstatement. `suspended_until` NULL: until
-- reinstated. Every instance keeps the whole table in memory (it is small).
CREATE TABLE account_suspensions (
    account_id BIGINT NOT NULL PRIMARY KEY,
    reason VARCHAR(500) NOT NULL,
    suspended_until DATETIME(6) NULL,
    suspended_by BIGINT NULL,
    created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
