-- Accounts, access keys, key-service material, secrets, versions and labels.
-- Only ciphertext is stored: version values and access-key secrets are sealed before they get here.
CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);

CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    user_name TEXT NOT NULL,
    sealed_secret BLOB NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL
);

CREATE TABLE kms_keys (
    key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    alias TEXT,
    created_at REAL NOT NULL
);
CREATE UNIQUE INDEX kms_keys_alias ON kms_keys(account_id, alias) WHERE alias IS NOT NULL;

CREATE TABLE kms_key_material (
    key_id TEXT NOT NULL REFERENCES kms_keys(key_id),
    version INTEGER NOT NULL,
    wrapped BLOB NOT NULL,
    PRIMARY KEY (key_id, version)
);

CREATE TABLE secrets (
    pk INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    description TEXT,
    kms_key_id TEXT,
    secret_type TEXT,
    owning_service TEXT,
    created_at REAL NOT NULL,
    last_changed_at REAL NOT NULL,
    last_accessed_day INTEGER,
    deleted_at REAL,
    purge_at REAL,
    tags TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX secrets_name ON secrets(account_id, name);
CREATE INDEX secrets_created ON secrets(account_id, created_at, pk);
CREATE INDEX secrets_purge ON secrets(purge_at) WHERE purge_at IS NOT NULL;

CREATE TABLE versions (
    secret_pk INTEGER NOT NULL REFERENCES secrets(pk) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    sealed BLOB,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_accessed_day INTEGER,
    PRIMARY KEY (secret_pk, version_id)
);

CREATE TABLE labels (
    secret_pk INTEGER NOT NULL REFERENCES secrets(pk) ON DELETE CASCADE,
    label TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (secret_pk, label),
    FOREIGN KEY (secret_pk, version_id) REFERENCES versions(secret_pk, version_id) ON DELETE CASCADE
);
CREATE INDEX labels_version ON labels(secret_pk, version_id);

CREATE TABLE policies (
    secret_pk INTEGER NOT NULL REFERENCES secrets(pk) ON DELETE CASCADE,
    policy_name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (secret_pk, policy_name)
);
