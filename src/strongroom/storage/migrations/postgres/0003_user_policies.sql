-- Inline IAM user policies. Users that existed before policies were enforced could do
-- everything in their account; they keep that as an explicit AdministratorAccess policy.
CREATE TABLE iam_user_policies (
    account_id TEXT COLLATE "C" NOT NULL,
    user_name_lower TEXT COLLATE "C" NOT NULL,
    policy_name TEXT COLLATE "C" NOT NULL,
    document TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, user_name_lower, policy_name),
    FOREIGN KEY (account_id, user_name_lower)
        REFERENCES iam_users(account_id, user_name_lower) ON DELETE CASCADE
);

INSERT INTO iam_user_policies (account_id, user_name_lower, policy_name, document)
SELECT account_id, user_name_lower, 'AdministratorAccess',
       '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
FROM iam_users;
