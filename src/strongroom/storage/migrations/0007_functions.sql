-- Lambda-compatible functions (the rotation-function runtime): one row per function of an
-- account, its configuration, its function policy and its code. The environment is stored
-- wrapped by the root key (its values may be credentials); the code is kept as uploaded and
-- is the last column, so reading a configuration never pages through the zip.
CREATE TABLE functions (
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    runtime TEXT NOT NULL,
    role TEXT NOT NULL,
    handler TEXT NOT NULL,
    description TEXT NOT NULL,
    timeout INTEGER NOT NULL,
    memory_size INTEGER NOT NULL,
    sealed_environment BLOB,
    code_sha256 TEXT NOT NULL,
    code_size INTEGER NOT NULL,
    revision_id TEXT NOT NULL,
    last_modified REAL NOT NULL,
    policy TEXT,
    code BLOB NOT NULL,
    PRIMARY KEY (account_id, name)
);
