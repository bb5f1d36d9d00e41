-- Nonces of install verification tokens the sandbox has seen, per account, so that a second use
-- of a nonce is reported as a replay. A row is kept until `expires_at` (the token's `exp` plus
-- the clock skew, unix seconds): after that no token carrying it can pass the `exp` check, so
-- the row is pruned. See docs/API.md, "Sandbox", for the bound on the number of rows.
--
-- The primary key is the table's only B-tree: no index on `expires_at` (each nonce would write a
-- second B-tree's page); pruning, at most once a minute, scans the bounded table instead.

CREATE TABLE install_nonces (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    nonce BLOB NOT NULL,                   -- a canonical UUID's 16 bytes (see src/db/nonces.rs)
    first_seen INTEGER NOT NULL,           -- unix seconds
    expires_at INTEGER NOT NULL,           -- unix seconds
    PRIMARY KEY (account_id, nonce)
) WITHOUT ROWID;
