DROP TABLE moderation_outbox;
DROP TABLE moderation_reports;
