DROP TABLE mission_outbox;
DROP TABLE mission_contributions;
DROP TABLE missions;
