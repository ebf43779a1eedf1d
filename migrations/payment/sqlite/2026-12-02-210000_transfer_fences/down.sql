DROP INDEX transfers_fences;
