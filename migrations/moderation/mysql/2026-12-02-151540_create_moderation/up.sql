-- Reports (신고). `open_key` is "<reporter>:<type>:<target>" while open and NULL once
-- resolved, so one reporter has at most one open report per target, even when racing.
CREATE TABLE moderation_reports (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    reporter_id BIGINT NOT NULL,
    target_type VARCHAR(32) NOT NULL,
    target_id BIGINT NOT NULL,
    target_owner_id BIGINT NOT NULL,
    target_preview LONGTEXT NOT NULL,
    reason VARCHAR(32) NOT NULL,
    details TEXT NULL,
    status VARCHAR(16) NOT NULL,
    open_key VARCHAR(100) NULL,
    resolution VARCHAR(16) NULL,
    resolution_note TEXT NULL,
    resolved_by BIGINT NULL,
    created_at DATETIME(6) NOT NULL,
    resolved_at DATETIME(6) NULL,
    UNIQUE KEY moderation_reports_open (open_key),
    KEY moderation_reports_target (target_type, target_id, status),
    KEY moderation_reports_status (status, id),
    KEY moderation_reports_reporter (reporter_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
