-- Rooms: named group rooms, or 1:1 rooms identified by `direct_key` ("<low id>:<high id>"),
-- unique so two people have one direct room however often they open it.
CREATE TABLE chat_rooms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NULL,
    direct_key TEXT NULL UNIQUE,
    created_by BIGINT NOT NULL,
    last_message_id BIGINT NULL,
    last_activity_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE chat_members (
    room_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    last_read_message_id BIGINT NOT NULL DEFAULT 0,
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (room_id, account_id)
);
CREATE INDEX chat_members_account ON chat_members (account_id, room_id);

-- (room_id, id) serves both cursor directions and unread counts in rooms of any size.
CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id BIGINT NOT NULL,
    sender_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX chat_messages_room ON chat_messages (room_id, id);
