DROP TABLE account_suspensions;
