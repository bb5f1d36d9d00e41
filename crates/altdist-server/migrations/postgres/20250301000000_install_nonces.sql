-- The PostgreSQL twin of migrations/sqlite/20250301000000_install_nonces.sql (same names, same
-- constraints): nonces of install verification tokens the sandbox has seen, pruned once
-- `expires_at` (unix seconds) has passed, by a scan of the bounded table (no expiry index).

CREATE TABLE install_nonces (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    nonce BYTEA NOT NULL,
    first_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, nonce)
);
