-- Accounts, their App Store Connect API keys and apps, and the alternative distribution keys and
-- domains the API manages. `seq` (the rowid) gives every list a stable insertion order.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL,          -- the issuer id, a UUID
    created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,          -- ten upper-case letters and digits
    account_id TEXT NOT NULL REFERENCES accounts (id),
    role TEXT NOT NULL CHECK (role IN ('ADMIN', 'APP_MANAGER', 'DEVELOPER')),
    individual INTEGER NOT NULL CHECK (individual IN (0, 1)),
    public_key TEXT NOT NULL,
    revoked_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE apps (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,               -- the Apple id, digits
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    bundle_id TEXT NOT NULL UNIQUE,
    sku TEXT NOT NULL,
    primary_locale TEXT NOT NULL,
    marketplace INTEGER NOT NULL CHECK (marketplace IN (0, 1)),
    created_at TEXT NOT NULL,
    UNIQUE (account_id, sku)
);

CREATE TABLE alt_dist_keys (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,               -- a UUID, the kid of install tokens; never changes
    account_id TEXT NOT NULL REFERENCES accounts (id),
    app_id TEXT REFERENCES apps (id),      -- NULL for the account-wide key
    public_key TEXT NOT NULL,              -- canonical SubjectPublicKeyInfo PEM
    created_at TEXT NOT NULL
);

-- The database, not the handler, keeps "one account-wide key per account, one key per app", so
-- that of N concurrent identical creates exactly one succeeds.
CREATE UNIQUE INDEX alt_dist_keys_one_per_account ON alt_dist_keys (account_id) WHERE app_id IS NULL;
CREATE UNIQUE INDEX alt_dist_keys_one_per_app ON alt_dist_keys (app_id) WHERE app_id IS NOT NULL;
CREATE INDEX alt_dist_keys_by_account ON alt_dist_keys (account_id, seq);

CREATE TABLE alt_dist_domains (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    domain TEXT NOT NULL,
    reference_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (account_id, domain)
);
