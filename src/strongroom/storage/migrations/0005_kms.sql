-- Customer managed keys (KMS-compatible key service): key state, policy, rotation, tags,
-- aliases, material rotations and grants. Rows written by 0001 are the AWS managed keys.
ALTER TABLE kms_keys ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE kms_keys ADD COLUMN key_manager TEXT NOT NULL DEFAULT 'AWS';
ALTER TABLE kms_keys ADD COLUMN key_state TEXT NOT NULL DEFAULT 'Enabled';
ALTER TABLE kms_keys ADD COLUMN policy TEXT;
ALTER TABLE kms_keys ADD COLUMN deletion_date REAL;
ALTER TABLE kms_keys ADD COLUMN pending_window_days INTEGER;
ALTER TABLE kms_keys ADD COLUMN rotation_period_days INTEGER;
ALTER TABLE kms_keys ADD COLUMN next_rotation REAL;
ALTER TABLE kms_keys ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
CREATE INDEX kms_keys_account ON kms_keys(account_id, created_at, key_id);
CREATE INDEX kms_keys_deletion ON kms_keys(deletion_date) WHERE deletion_date IS NOT NULL;

-- Names are stored without the "alias/" prefix, as kms_keys.alias is.
CREATE TABLE kms_aliases (
    account_id TEXT NOT NULL,
    alias_name TEXT NOT NULL,
    key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (account_id, alias_name)
);
CREATE INDEX kms_aliases_key ON kms_aliases(key_id);

-- One row per material version after the first: when and how it was made.
CREATE TABLE kms_rotations (
    key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    rotated_at REAL NOT NULL,
    rotation_type TEXT NOT NULL,
    PRIMARY KEY (key_id, version)
);

CREATE TABLE kms_grants (
    grant_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    name TEXT,
    grantee TEXT NOT NULL,
    retiring TEXT,
    operations TEXT NOT NULL,
    constraints TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX kms_grants_key ON kms_grants(key_id, created_at);
