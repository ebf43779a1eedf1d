-- Replayed transfers read their receipt from the entries of one transfer; without this
-- index every replay scanned the whole ledger.
CREATE INDEX ledger_entries_transfer ON ledger_entries (transfer_id);
