-- App Store versions, the files that stand in for their builds, and the alternative distribution
-- packages App Store Connect makes of them: versions, and each version's variants and deltas.
-- Files live in the package store (a directory named by `--package-dir`), by SHA-256.

CREATE TABLE app_store_versions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    app_id TEXT NOT NULL REFERENCES apps (id),
    platform TEXT NOT NULL,
    version_string TEXT NOT NULL,
    app_version_state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (app_id, platform, version_string)
);
CREATE INDEX app_store_versions_by_app ON app_store_versions (app_id, seq);

-- The build of a version: one file per variant, and deltas from earlier versions.
CREATE TABLE app_store_version_files (
    seq INTEGER PRIMARY KEY,
    app_store_version_id TEXT NOT NULL REFERENCES app_store_versions (id),
    kind TEXT NOT NULL CHECK (kind IN ('VARIANT', 'DELTA')),
    from_version TEXT,                     -- a delta's earlier version
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL
);

CREATE TABLE alt_dist_packages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    app_store_version_id TEXT NOT NULL UNIQUE REFERENCES app_store_versions (id),
    source_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE alt_dist_package_versions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    package_id TEXT NOT NULL REFERENCES alt_dist_packages (id),
    version TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('COMPLETED', 'REPLACED')),
    manifest_sha256 TEXT NOT NULL,         -- the version's file: its manifest
    created_at TEXT NOT NULL
);
CREATE INDEX alt_dist_package_versions_by_package ON alt_dist_package_versions (package_id, seq);

CREATE TABLE alt_dist_package_files (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    package_version_id TEXT NOT NULL REFERENCES alt_dist_package_versions (id),
    kind TEXT NOT NULL CHECK (kind IN ('VARIANT', 'DELTA')),
    sha256 TEXT NOT NULL,
    key_blob TEXT NOT NULL
);
CREATE INDEX alt_dist_package_files_by_version ON alt_dist_package_files (package_version_id, kind, seq);

-- The secret that signs download URLs, shared by every server on the database so that a URL one
-- server wrote is good on all of them.
CREATE TABLE download_url_secrets (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);
