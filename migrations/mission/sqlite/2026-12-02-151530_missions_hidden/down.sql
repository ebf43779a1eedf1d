DROP TABLE mission_hidden;
