DROP TABLE moderation_reports;
