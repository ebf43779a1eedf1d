-- Missions hidden by moderation: out of lists; their money flows continue.
CREATE TABLE mission_hidden (
    mission_id BIGINT NOT NULL PRIMARY KEY,
    hidden_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
