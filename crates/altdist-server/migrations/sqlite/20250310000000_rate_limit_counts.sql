-- Requests charged to each API key, per minute, for servers that share one budget per key
-- through the database (src/rate_limit.rs, `SharedRateLimiter`). `altdist serve` on SQLite is
-- one process and counts in memory; the table keeps the twins alike and lets the shared limiter
-- be tested on both backends.

CREATE TABLE rate_limit_counts (
    api_key_id TEXT NOT NULL,
    minute INTEGER NOT NULL,               -- unix time / 60
    count INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, minute)
) WITHOUT ROWID;

CREATE INDEX rate_limit_counts_by_minute ON rate_limit_counts (minute);
