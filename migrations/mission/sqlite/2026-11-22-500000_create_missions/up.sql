-- Missions. `funding` is internal (the creator's stake is moving into escrow) and never
-- shown; then `open`, and one terminal state: succeeded, failed, rejected or expired.
-- Every state change is a conditional UPDATE, so racing deciders and sweepers never both win.
CREATE TABLE missions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    creator_id BIGINT NOT NULL,
    streamer_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    stake BIGINT NOT NULL,
    pool BIGINT NOT NULL DEFAULT 0,
    contributors INTEGER NOT NULL DEFAULT 0,
    deadline TIMESTAMP NOT NULL,
    client_key TEXT NULL,
    request_hash TEXT NOT NULL,
    recover_after TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP NULL,
    settled BOOLEAN NOT NULL DEFAULT 0,
    UNIQUE (creator_id, client_key)
);
CREATE INDEX missions_status_deadline ON missions (status, deadline);
CREATE INDEX missions_streamer ON missions (streamer_id, id);
CREATE INDEX missions_creator ON missions (creator_id, status, id);

-- The contributions log (the creator's stake is the first entry). `pending` while its
-- transfer into escrow is in flight; `done` once the money is there; `failed` if it never
-- moved (the client's key is then freed).
CREATE TABLE mission_contributions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mission_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    client_key TEXT NULL,
    request_hash TEXT NOT NULL,
    recover_after TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, client_key)
);
CREATE INDEX mission_contributions_mission ON mission_contributions (mission_id, status, id);
CREATE INDEX mission_contributions_account ON mission_contributions (account_id, mission_id);
CREATE INDEX mission_contributions_pending ON mission_contributions (status, recover_after);
