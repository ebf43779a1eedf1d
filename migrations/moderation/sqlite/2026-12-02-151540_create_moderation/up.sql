-- Reports (신고). `open_key` is "<reporter>:<type>:<target>" while open and NULL once
-- resolved, so one reporter has at most one open report per target, even when racing.
CREATE TABLE moderation_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reporter_id BIGINT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    target_owner_id BIGINT NOT NULL,
    target_preview TEXT NOT NULL,
    reason TEXT NOT NULL,
    details TEXT NULL,
    status TEXT NOT NULL,
    open_key TEXT NULL UNIQUE,
    resolution TEXT NULL,
    resolution_note TEXT NULL,
    resolved_by BIGINT NULL,
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP NULL
);
CREATE INDEX moderation_reports_target ON moderation_reports (target_type, target_id, status);
CREATE INDEX moderation_reports_status ON moderation_reports (status, id);
CREATE INDEX moderation_reports_reporter ON moderation_reports (reporter_id, created_at);
