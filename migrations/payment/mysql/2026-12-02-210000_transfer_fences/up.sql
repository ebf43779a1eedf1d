-- The retention sweep finds old cancel fences without scanning every transfer.
CREATE INDEX transfers_fences ON transfers (cancelled, created_at);
