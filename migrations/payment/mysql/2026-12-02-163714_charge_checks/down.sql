DROP INDEX charges_keyless_pending ON charges;
DROP TABLE charge_lookups;
