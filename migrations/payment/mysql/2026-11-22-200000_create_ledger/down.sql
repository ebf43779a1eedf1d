DROP TABLE charges;
DROP TABLE ledger_entries;
DROP TABLE transfers;
DROP TABLE wallets;
