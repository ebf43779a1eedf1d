CREATE TABLE feed_rows (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    row_provider_type VARCHAR(32) NOT NULL,
    position INT NOT NULL,
    enabled BOOLEAN NOT NULL,
    title VARCHAR(100) NOT NULL,
    selector TEXT NOT NULL,
    template MEDIUMTEXT NULL,
    ttl_seconds INT NULL,
    starts_at DATETIME(6) NULL,
    ends_at DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE feed_ad_slots (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slot_name VARCHAR(100) NOT NULL,
    title VARCHAR(200) NOT NULL,
    image_url VARCHAR(2000) NOT NULL,
    link_url VARCHAR(2000) NOT NULL,
    country CHAR(2) NULL,
    created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
