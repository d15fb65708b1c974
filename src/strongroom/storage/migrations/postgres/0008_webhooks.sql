-- Rotation webhooks: an HTTPS endpoint registered by the operator under a Lambda-style function
-- name in an account. The signing key is stored wrapped by the root key, never in plaintext;
-- ca_pem (a public CA bundle) pins the endpoint's certificate issuer when given.
CREATE TABLE webhooks (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    name TEXT COLLATE "C" NOT NULL,
    url TEXT COLLATE "C" NOT NULL,
    role_arn TEXT COLLATE "C",
    timeout_seconds DOUBLE PRECISION NOT NULL,
    ca_pem TEXT COLLATE "C",
    verify_tls BIGINT NOT NULL DEFAULT 1,
    sealed_key BYTEA NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    key_created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, name)
);
