DROP TABLE payouts;
DROP TABLE charge_refunds;
DROP TABLE charge_attention;
ALTER TABLE charges DROP COLUMN refunded_amount;
