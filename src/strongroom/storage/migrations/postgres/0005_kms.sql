-- Customer managed keys (KMS-compatible key service): key state, policy, rotation, tags,
-- aliases, material rotations and grants. Rows written by 0001 are the AWS managed keys.
ALTER TABLE kms_keys ADD COLUMN description TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE kms_keys ADD COLUMN key_manager TEXT COLLATE "C" NOT NULL DEFAULT 'AWS';
ALTER TABLE kms_keys ADD COLUMN key_state TEXT COLLATE "C" NOT NULL DEFAULT 'Enabled';
ALTER TABLE kms_keys ADD COLUMN policy TEXT COLLATE "C";
ALTER TABLE kms_keys ADD COLUMN deletion_date DOUBLE PRECISION;
ALTER TABLE kms_keys ADD COLUMN pending_window_days BIGINT;
ALTER TABLE kms_keys ADD COLUMN rotation_period_days BIGINT;
ALTER TABLE kms_keys ADD COLUMN next_rotation DOUBLE PRECISION;
ALTER TABLE kms_keys ADD COLUMN tags TEXT COLLATE "C" NOT NULL DEFAULT '[]';
CREATE INDEX kms_keys_account ON kms_keys(account_id, created_at, key_id);
CREATE INDEX kms_keys_deletion ON kms_keys(deletion_date) WHERE deletion_date IS NOT NULL;

-- Names are stored without the "alias/" prefix, as kms_keys.alias is.
CREATE TABLE kms_aliases (
    account_id TEXT COLLATE "C" NOT NULL,
    alias_name TEXT COLLATE "C" NOT NULL,
    key_id TEXT COLLATE "C" NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, alias_name)
);
CREATE INDEX kms_aliases_key ON kms_aliases(key_id);

-- One row per material version after the first: when and how it was made.
CREATE TABLE kms_rotations (
    key_id TEXT COLLATE "C" NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    rotated_at DOUBLE PRECISION NOT NULL,
    rotation_type TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (key_id, version)
);

CREATE TABLE kms_grants (
    grant_id TEXT COLLATE "C" PRIMARY KEY,
    key_id TEXT COLLATE "C" NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
    account_id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C",
    grantee TEXT COLLATE "C" NOT NULL,
    retiring TEXT COLLATE "C",
    operations TEXT COLLATE "C" NOT NULL,
    constraints TEXT COLLATE "C",
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX kms_grants_key ON kms_grants(key_id, created_at);
