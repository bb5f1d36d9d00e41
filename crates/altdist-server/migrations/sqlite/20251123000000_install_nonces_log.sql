-- On SQLite the sandbox's replay guard lives in the server's memory (one server process per
-- SQLite database: `altdist serve` locks it), and install_nonces becomes its log: appended to,
-- read back at start, pruned once `expires_at` has passed. No primary key and no index: a key
-- on random nonces wrote a B-tree page of its own for every nonce, where appends fill pages in
-- order. See src/replay.rs. PostgreSQL's table, shared by several servers, keeps its key.

CREATE TABLE install_nonces_log (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    nonce BLOB NOT NULL,                   -- a canonical UUID's 16 bytes (see src/db/nonces.rs)
    first_seen INTEGER NOT NULL,           -- unix seconds
    expires_at INTEGER NOT NULL            -- unix seconds
);

INSERT INTO install_nonces_log (account_id, nonce, first_seen, expires_at)
    SELECT account_id, nonce, first_seen, expires_at FROM install_nonces ORDER BY first_seen;

DROP TABLE install_nonces;

ALTER TABLE install_nonces_log RENAME TO install_nonces;
