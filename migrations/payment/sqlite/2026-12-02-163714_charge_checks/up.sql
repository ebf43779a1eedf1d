-- Charges only the gateway can decide, as a queue for reconcile: pending charges with a
-- payment key, and charges failed locally whose failure the gateway has not confirmed (a
-- confirm may still have taken the money). Each pass takes the least recently checked
-- ones and puts each back with a new `checked_at`, so no number of other charges can
-- starve one. A row goes once the charge is credited or its failure confirmed.
CREATE TABLE charge_lookups (
    charge_id BIGINT NOT NULL PRIMARY KEY,
    checked_at TIMESTAMP NOT NULL
);
CREATE INDEX charge_lookups_checked ON charge_lookups (checked_at);
INSERT INTO charge_lookups (charge_id, checked_at)
    SELECT id, updated_at FROM charges WHERE status = 'pending' AND payment_key IS NOT NULL;
CREATE INDEX charges_keyless_pending ON charges (status, payment_key, created_at);
