-- IAM groups, roles, managed policies with versions, attachments and temporary credentials.
-- Inline policies of users, groups and roles share one table (iam_user_policies moves there).
-- Names are unique ignoring case, as in IAM: the *_lower columns are the keys. Deleting a user,
-- group or role removes its inline policies and attachments in the storage code (they have no
-- single parent table) and its memberships by ON DELETE CASCADE.
ALTER TABLE iam_users ADD COLUMN boundary_arn TEXT COLLATE "C";

CREATE TABLE iam_groups (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    group_name TEXT COLLATE "C" NOT NULL,
    group_name_lower TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL DEFAULT '/',
    group_id TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, group_name_lower)
);

CREATE TABLE iam_group_members (
    account_id TEXT COLLATE "C" NOT NULL,
    group_name_lower TEXT COLLATE "C" NOT NULL,
    user_name_lower TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, group_name_lower, user_name_lower),
    FOREIGN KEY (account_id, group_name_lower)
        REFERENCES iam_groups(account_id, group_name_lower) ON DELETE CASCADE,
    FOREIGN KEY (account_id, user_name_lower)
        REFERENCES iam_users(account_id, user_name_lower) ON DELETE CASCADE
);
CREATE INDEX iam_group_members_user ON iam_group_members(account_id, user_name_lower);

CREATE TABLE iam_roles (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    role_name TEXT COLLATE "C" NOT NULL,
    role_name_lower TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL DEFAULT '/',
    role_id TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL,
    trust_policy TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    max_session_duration BIGINT NOT NULL,
    tags TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    boundary_arn TEXT COLLATE "C",
    PRIMARY KEY (account_id, role_name_lower)
);

-- The primary key also serves identity_documents' lookup by (account, kind, owner).
CREATE TABLE iam_inline_policies (
    account_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('user', 'group', 'role')),
    owner_name_lower TEXT COLLATE "C" NOT NULL,
    policy_name TEXT COLLATE "C" NOT NULL,
    document TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, kind, owner_name_lower, policy_name)
);

INSERT INTO iam_inline_policies (account_id, kind, owner_name_lower, policy_name, document)
SELECT account_id, 'user', user_name_lower, policy_name, document FROM iam_user_policies;

DROP TABLE iam_user_policies;

-- AWS managed policies have account_id 'aws' (no row in accounts, hence no foreign key).
CREATE TABLE iam_managed_policies (
    arn TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL,
    policy_name TEXT COLLATE "C" NOT NULL,
    policy_name_lower TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL DEFAULT '/',
    policy_id TEXT COLLATE "C" NOT NULL UNIQUE,
    default_version TEXT COLLATE "C" NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    description TEXT COLLATE "C",
    next_version BIGINT NOT NULL
);
CREATE UNIQUE INDEX iam_managed_policies_name
    ON iam_managed_policies(account_id, policy_name_lower);

CREATE TABLE iam_policy_versions (
    arn TEXT COLLATE "C" NOT NULL REFERENCES iam_managed_policies(arn) ON DELETE CASCADE,
    version_id TEXT COLLATE "C" NOT NULL,
    document TEXT COLLATE "C" NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (arn, version_id)
);

-- A policy cannot be deleted while attached: the service checks (IAM's DeleteConflict) and
-- the foreign key is the backstop.
CREATE TABLE iam_policy_attachments (
    account_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('user', 'group', 'role')),
    owner_lower TEXT COLLATE "C" NOT NULL,
    policy_arn TEXT COLLATE "C" NOT NULL REFERENCES iam_managed_policies(arn),
    PRIMARY KEY (account_id, kind, owner_lower, policy_arn)
);
CREATE INDEX iam_policy_attachments_arn
    ON iam_policy_attachments(policy_arn, account_id, kind, owner_lower);

-- Temporary credentials: the secret is sealed, the session token kept only as its digest.
CREATE TABLE iam_sessions (
    access_key_id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    sealed_secret BYTEA NOT NULL,
    token_digest BYTEA NOT NULL,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('user', 'role')),
    name TEXT COLLATE "C" NOT NULL,
    session_name TEXT COLLATE "C",
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    session_policy TEXT COLLATE "C",
    policy_arns TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    tags TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    source_account_id TEXT COLLATE "C" NOT NULL
);
CREATE INDEX iam_sessions_expiry ON iam_sessions(expires_at);

-- AWS managed policies with their documents as AWS publishes them (SecretsManagerReadWrite as
-- its version v5). Each is kept here as v1, created 2015-02-06T18:39:46Z (AdministratorAccess's
-- creation time). The ids are AWS's except SecretsManagerReadWrite's, which is made up.
INSERT INTO iam_managed_policies (arn, account_id, policy_name, policy_name_lower, path,
    policy_id, default_version, created_at, updated_at, description, next_version)
VALUES
('arn:aws:iam::aws:policy/AdministratorAccess', 'aws', 'AdministratorAccess',
    'administratoraccess', '/', 'ANPAIWMBCKSKIEE64ZLYK', 'v1', 1423247986.0, 1423247986.0,
    'Provides full access to AWS services and resources.', 2),
('arn:aws:iam::aws:policy/IAMFullAccess', 'aws', 'IAMFullAccess',
    'iamfullaccess', '/', 'ANPAI7XKCFMBPM3QQRRVQ', 'v1', 1423247986.0, 1423247986.0,
    'Provides full access to IAM via the AWS Management Console.', 2),
('arn:aws:iam::aws:policy/IAMReadOnlyAccess', 'aws', 'IAMReadOnlyAccess',
    'iamreadonlyaccess', '/', 'ANPAJKSO7NDY4T57MWDSQ', 'v1', 1423247986.0, 1423247986.0,
    'Provides read only access to IAM via the AWS Management Console.', 2),
('arn:aws:iam::aws:policy/SecretsManagerReadWrite', 'aws', 'SecretsManagerReadWrite',
    'secretsmanagerreadwrite', '/', 'ANPAZ7SMRWSTRONGROOM2', 'v1', 1423247986.0, 1423247986.0,
    'Provides read/write access to AWS Secrets Manager via the AWS Management Console. '
    || 'Note: this exludes IAM actions, so combine with IAMFullAccess if rotation '
    || 'configuration is required.', 2);

INSERT INTO iam_policy_versions (arn, version_id, created_at, document) VALUES
-- AdministratorAccess
('arn:aws:iam::aws:policy/AdministratorAccess', 'v1', 1423247986.0,
'{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}'),
-- IAMFullAccess
('arn:aws:iam::aws:policy/IAMFullAccess', 'v1', 1423247986.0,
'{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:*",
        "organizations:DescribeAccount",
        "organizations:DescribeOrganization",
        "organizations:DescribeOrganizationalUnit",
        "organizations:DescribePolicy",
        "organizations:ListChildren",
        "organizations:ListParents",
        "organizations:ListPoliciesForTarget",
        "organizations:ListRoots",
        "organizations:ListPolicies",
        "organizations:ListTargetsForPolicy"
      ],
      "Resource": "*"
    }
  ]
}'),
-- IAMReadOnlyAccess
('arn:aws:iam::aws:policy/IAMReadOnlyAccess', 'v1', 1423247986.0,
'{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "iam:GenerateCredentialReport",
        "iam:GenerateServiceLastAccessedDetails",
        "iam:Get*",
        "iam:List*",
        "iam:SimulateCustomPolicy",
        "iam:SimulatePrincipalPolicy"
      ],
      "Resource": "*"
    }
  ]
}'),
-- SecretsManagerReadWrite
('arn:aws:iam::aws:policy/SecretsManagerReadWrite', 'v1', 1423247986.0,
'{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "BasePermissions",
      "Effect": "Allow",
      "Action": [
        "secretsmanager:*",
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:DescribeStackResource",
        "cloudformation:DescribeStacks",
        "cloudformation:ExecuteChangeSet",
        "docdb-elastic:GetCluster",
        "docdb-elastic:ListClusters",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "kms:DescribeKey",
        "kms:ListAliases",
        "kms:ListKeys",
        "lambda:ListFunctions",
        "rds:DescribeDBClusters",
        "rds:DescribeDBInstances",
        "redshift:DescribeClusters",
        "redshift-serverless:ListWorkgroups",
        "redshift-serverless:GetNamespace",
        "tag:GetResources"
      ],
      "Resource": "*"
    },
    {
      "Sid": "LambdaPermissions",
      "Effect": "Allow",
      "Action": [
        "lambda:AddPermission",
        "lambda:CreateFunction",
        "lambda:GetFunction",
        "lambda:InvokeFunction",
        "lambda:UpdateFunctionConfiguration"
      ],
      "Resource": "arn:aws:lambda:*:*:function:SecretsManager*"
    },
    {
      "Sid": "SARPermissions",
      "Effect": "Allow",
      "Action": [
        "serverlessrepo:CreateCloudFormationChangeSet",
        "serverlessrepo:GetApplication"
      ],
      "Resource": "arn:aws:serverlessrepo:*:*:applications/SecretsManager*"
    },
    {
      "Sid": "S3Permissions",
      "Effect": "Allow",
      "Action": [
        "s3:GetObject"
      ],
      "Resource": [
        "arn:aws:s3:::awsserverlessrepo-changesets*",
        "arn:aws:s3:::secrets-manager-rotation-apps-*/*"
      ]
    }
  ]
}');
