-- The PostgreSQL twin of migrations/sqlite/20250101000000_initial.sql (same names, same
-- constraints). Where SQLite lists rows in rowid order, PostgreSQL has a `seq` identity column.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, -- SQLite's rowid: insertion order
    created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    role TEXT NOT NULL CHECK (role IN ('ADMIN', 'APP_MANAGER', 'DEVELOPER')),
    individual BOOLEAN NOT NULL,
    public_key TEXT NOT NULL,
    revoked_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE apps (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    bundle_id TEXT NOT NULL UNIQUE,
    sku TEXT NOT NULL,
    primary_locale TEXT NOT NULL,
    marketplace BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (account_id, sku)
);

CREATE TABLE alt_dist_keys (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    app_id TEXT REFERENCES apps (id),
    public_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE UNIQUE INDEX alt_dist_keys_one_per_account ON alt_dist_keys (account_id) WHERE app_id IS NULL;
CREATE UNIQUE INDEX alt_dist_keys_one_per_app ON alt_dist_keys (app_id) WHERE app_id IS NOT NULL;
CREATE INDEX alt_dist_keys_by_account ON alt_dist_keys (account_id, seq);

CREATE TABLE alt_dist_domains (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    domain TEXT NOT NULL,
    reference_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (account_id, domain)
);
