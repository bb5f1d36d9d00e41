-- The servers that keep alternative distribution keys in memory (src/db/read_cache.rs): a
-- change to alt_dist_keys notifies them, and its request waits until every live one has
-- emptied its cache (acked the change's number) or its lease has lapsed.

CREATE SEQUENCE read_cache_changes;

CREATE TABLE read_cache_peers (
    instance TEXT PRIMARY KEY,
    heartbeat_at TIMESTAMPTZ NOT NULL,     -- the last heartbeat's time, by the database's clock
    acked BIGINT NOT NULL DEFAULT 0        -- the last change this peer emptied its cache for
);
