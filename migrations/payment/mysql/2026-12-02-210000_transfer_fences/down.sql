DROP INDEX transfers_fences ON transfers;
