CREATE TABLE missions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    creator_id BIGINT NOT NULL,
    streamer_id BIGINT NOT NULL,
    title VARCHAR(100) NOT NULL,
    description TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    stake BIGINT NOT NULL,
    pool BIGINT NOT NULL DEFAULT 0,
    contributors INT NOT NULL DEFAULT 0,
    deadline DATETIME(6) NOT NULL,
    client_key VARCHAR(128) NULL,
    request_hash CHAR(64) NOT NULL,
    recover_after DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    decided_at DATETIME(6) NULL,
    settled BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE KEY missions_client_key (creator_id, client_key),
    KEY missions_status_deadline (status, deadline),
    KEY missions_streamer (streamer_id, id),
    KEY missions_creator (creator_id, status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE mission_contributions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    mission_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    status VARCHAR(16) NOT NULL,
    client_key VARCHAR(128) NULL,
    request_hash CHAR(64) NOT NULL,
    recover_after DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY mission_contributions_client_key (account_id, client_key),
    KEY mission_contributions_mission (mission_id, status, id),
    KEY mission_contributions_account (account_id, mission_id),
    KEY mission_contributions_pending (status, recover_after)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
