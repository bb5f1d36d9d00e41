-- Requests charged to each API key, per minute: several servers on one database add their
-- counts here and sum the last 60 minutes to enforce one budget per key (src/rate_limit.rs,
-- `SharedRateLimiter`). Rows older than the hour are pruned.

CREATE TABLE rate_limit_counts (
    api_key_id TEXT NOT NULL,
    minute BIGINT NOT NULL,                -- unix time / 60
    count BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, minute)
);

CREATE INDEX rate_limit_counts_by_minute ON rate_limit_counts (minute);
