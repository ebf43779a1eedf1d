-- Operator-configured rows of the home feed. `selector` and `template` are JSON text.
CREATE TABLE feed_rows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    row_provider_type TEXT NOT NULL,
    position INTEGER NOT NULL,
    enabled BOOLEAN NOT NULL,
    title TEXT NOT NULL,
    selector TEXT NOT NULL,
    template TEXT NULL,
    ttl_seconds INTEGER NULL,
    starts_at TIMESTAMP NULL,
    ends_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE feed_ad_slots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slot_name TEXT NOT NULL,
    title TEXT NOT NULL,
    image_url TEXT NOT NULL,
    link_url TEXT NOT NULL,
    country TEXT NULL,
    created_at TIMESTAMP NOT NULL
);
