-- Hidden by moderation: out of lists; its money flows continue.
ALTER TABLE missions ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT 0;
