DROP TABLE ledger_audit_state;
DROP TABLE ledger_audit_sums;
