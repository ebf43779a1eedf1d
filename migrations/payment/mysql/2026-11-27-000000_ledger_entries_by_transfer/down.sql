DROP INDEX ledger_entries_transfer ON ledger_entries;
