-- IAM users (the admin of each existing account included) and access-key last use.
CREATE TABLE iam_users (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    user_name TEXT COLLATE "C" NOT NULL,
    user_name_lower TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL DEFAULT '/',
    created_at DOUBLE PRECISION NOT NULL,
    tags TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    PRIMARY KEY (account_id, user_name_lower)
);

INSERT INTO iam_users (account_id, user_name, user_name_lower, path, created_at)
SELECT account_id, MIN(user_name), lower(user_name), '/', MIN(created_at)
FROM access_keys GROUP BY account_id, lower(user_name);

ALTER TABLE access_keys ADD COLUMN last_used_at DOUBLE PRECISION;
ALTER TABLE access_keys ADD COLUMN last_used_service TEXT COLLATE "C";
ALTER TABLE access_keys ADD COLUMN last_used_region TEXT COLLATE "C";
CREATE INDEX access_keys_user ON access_keys(account_id, user_name);
