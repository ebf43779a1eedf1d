-- `blocker_id` blocked `blocked_id`: no direct room opened by the blocked one, and their
-- messages are neither delivered to nor counted unread for the blocker.
CREATE TABLE chat_blocks (
    blocker_id BIGINT NOT NULL,
    blocked_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Hidden by moderation: the message keeps its place, its body is not shown.
ALTER TABLE chat_messages ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;
