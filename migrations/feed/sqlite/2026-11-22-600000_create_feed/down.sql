DROP TABLE feed_ad_slots;
DROP TABLE feed_rows;
