-- The sweep's look for decided missions whose settlement was parked (settled = false).
CREATE INDEX missions_unsettled ON missions (settled, id);
