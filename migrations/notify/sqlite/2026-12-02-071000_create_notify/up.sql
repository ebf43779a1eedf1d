-- One row per (recipient, subject): `dedupe_key` names the event (or, for chat, the room)
-- the notification came from, unique per account, so a redelivered event changes nothing.
-- `revision` orders in-place updates (a room's chat notification: the newest message id).
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL,
    data TEXT NOT NULL,
    is_read BOOLEAN NOT NULL DEFAULT 0,
    dedupe_key TEXT NOT NULL,
    revision BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX notifications_dedupe ON notifications (account_id, dedupe_key);
CREATE INDEX notifications_inbox ON notifications (account_id, id);
CREATE INDEX notifications_unread ON notifications (account_id, is_read, kind);
CREATE INDEX notifications_age ON notifications (updated_at);

CREATE TABLE notification_preferences (
    account_id BIGINT NOT NULL PRIMARY KEY,
    muted_kinds TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A push token belongs to one account at a time (re-registering moves it).
CREATE TABLE notification_devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL,
    platform TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notification_devices_account ON notification_devices (account_id);
