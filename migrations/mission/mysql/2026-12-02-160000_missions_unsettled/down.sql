DROP INDEX missions_unsettled ON missions;
