-- One row per (recipient, subject): `dedupe_key` names the event (or, for chat, the room)
-- the notification came from, unique per account, so a redelivered event changes nothing.
-- `revision` orders in-place updates (a room's chat notification: the newest message id).
CREATE TABLE notifications (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    kind VARCHAR(40) NOT NULL,
    title VARCHAR(200) NOT NULL,
    body TEXT NOT NULL,
    link VARCHAR(255) NOT NULL,
    data TEXT NOT NULL,
    is_read BOOLEAN NOT NULL DEFAULT FALSE,
    dedupe_key VARCHAR(191) NOT NULL,
    revision BIGINT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY notifications_dedupe (account_id, dedupe_key),
    KEY notifications_inbox (account_id, id),
    KEY notifications_unread (account_id, is_read, kind),
    KEY notifications_age (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE notification_preferences (
    account_id BIGINT NOT NULL PRIMARY KEY,
    muted_kinds TEXT NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A push token belongs to one account at a time (re-registering moves it).
CREATE TABLE notification_devices (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id BIGINT NOT NULL,
    platform VARCHAR(16) NOT NULL,
    token VARCHAR(255) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY notification_devices_token (token),
    KEY notification_devices_account (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
