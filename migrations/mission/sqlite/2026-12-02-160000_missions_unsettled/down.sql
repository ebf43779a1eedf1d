DROP INDEX missions_unsettled;
