DROP INDEX charges_keyless_pending;
DROP TABLE charge_lookups;
