-- One row per suspended account; deleted on reinstatement. `suspended_until` NULL: until
-- reinstated. Every instance keeps the whole table in memory (it is small).
CREATE TABLE account_suspensions (
    account_id BIGINT NOT NULL PRIMARY KEY,
    reason TEXT NOT NULL,
    suspended_until TIMESTAMP NULL,
    suspended_by BIGINT NULL,
    created_at TIMESTAMP NOT NULL
);
