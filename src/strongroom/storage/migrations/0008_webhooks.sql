-- Rotation webhooks: an HTTPS endpoint registered by the operator under a Lambda-style function
-- name in an account. The signing key is stored wrapped by the root key, never in plaintext;
-- ca_pem (a public CA bundle) pins the endpoint's certificate issuer when given.
CREATE TABLE webhooks (
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    role_arn TEXT,
    timeout_seconds REAL NOT NULL,
    ca_pem TEXT,
    verify_tls INTEGER NOT NULL DEFAULT 1,
    sealed_key BLOB NOT NULL,
    created_at REAL NOT NULL,
    key_created_at REAL NOT NULL,
    PRIMARY KEY (account_id, name)
);
