-- Missions hidden by moderation: out of lists; their money flows continue.
CREATE TABLE mission_hidden (
    mission_id BIGINT NOT NULL PRIMARY KEY,
    hidden_at TIMESTAMP NOT NULL
);
