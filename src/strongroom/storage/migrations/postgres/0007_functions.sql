-- Lambda-compatible functions (the rotation-function runtime): one row per function of an
-- account, its configuration, its function policy and its code. The environment is stored
-- wrapped by the root key (its values may be credentials); the code is kept as uploaded and
-- is the last column, so reading a configuration never pages through the zip.
CREATE TABLE functions (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    name TEXT COLLATE "C" NOT NULL,
    runtime TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,
    handler TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C" NOT NULL,
    timeout BIGINT NOT NULL,
    memory_size BIGINT NOT NULL,
    sealed_environment BYTEA,
    code_sha256 TEXT COLLATE "C" NOT NULL,
    code_size BIGINT NOT NULL,
    revision_id TEXT COLLATE "C" NOT NULL,
    last_modified DOUBLE PRECISION NOT NULL,
    policy TEXT COLLATE "C",
    code BYTEA NOT NULL,
    PRIMARY KEY (account_id, name)
);
