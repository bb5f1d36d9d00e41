-- A delta is computed by altdist from an earlier version's stored variant to one of the new
-- version's variants (`altdist admin app version create --delta-from`): which file it applies
-- to, and which it produces, both by SHA-256 in the package store. NULL for variants.
ALTER TABLE app_store_version_files ADD COLUMN from_sha256 TEXT;
ALTER TABLE app_store_version_files ADD COLUMN to_sha256 TEXT;
