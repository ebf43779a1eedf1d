DROP INDEX ledger_entries_transfer;
