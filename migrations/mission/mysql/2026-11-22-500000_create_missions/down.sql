DROP TABLE mission_contributions;
DROP TABLE missions;
