"""Rotation function for a MySQL/MariaDB login with alternating users, written the way AWS's
published rotation functions are: a master secret's credentials (``masterarn``) create
``<username>_clone`` with the user's grants, and each rotation sets a new password on whichever
of the two is not current.

The secret is JSON: engine ("mysql" or "mariadb"), host, username, password, masterarn, and
optionally dbname and port (default 3306). Environment: SECRETS_MANAGER_ENDPOINT, and
optionally EXCLUDE_CHARACTERS and PASSWORD_LENGTH.
"""

import json
import logging
import os

import boto3
import pymysql

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ENGINES = ("mysql", "mariadb", "aurora-mysql", "aurora")
CLONE_SUFFIX = "_clone"
MAX_USERNAME = 32


def lambda_handler(event, context):
    """Run one rotation step (event: SecretId, ClientRequestToken, Step) for the secret."""
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]
    client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])

    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled", True):
        raise ValueError(f"Secret {arn} is not enabled for rotation")
    stages = metadata["VersionIdsToStages"]
    if token not in stages:
        raise ValueError(f"Secret version {token} has no stage for rotation of secret {arn}.")
    if "AWSCURRENT" in stages[token]:
        logger.info("Version %s of secret %s is already AWSCURRENT", token, arn)
        return
    if "AWSPENDING" not in stages[token]:
        raise ValueError(f"Secret version {token} not set as AWSPENDING for rotation of {arn}.")

    steps = {
        "createSecret": create_secret,
        "setSecret": set_secret,
        "testSecret": test_secret,
        "finishSecret": finish_secret,
    }
    if step not in steps:
        raise ValueError(f"Invalid step parameter {step} for secret {arn}")
    steps[step](client, arn, token)


def create_secret(client, arn, token):
    """Store the other user of the pair with a new password under AWSPENDING."""
    current = get_secret_dict(client, arn, "AWSCURRENT")
    try:
        get_secret_dict(client, arn, "AWSPENDING", token)
        logger.info("createSecret: version %s of %s already has a value", token, arn)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    current["username"] = alternate_username(current["username"])
    current["password"] = random_password(client)
    client.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps(current),
        VersionStages=["AWSPENDING"],
    )
    logger.info("createSecret: stored user %s as version %s of %s", current["username"], token, arn)


def set_secret(client, arn, token):
    """As the master user, create the pending user with the current user's grants, or set
    its password."""
    current = get_secret_dict(client, arn, "AWSCURRENT")
    pending = get_secret_dict(client, arn, "AWSPENDING", token)
    conn = get_connection(pending)
    if conn:
        conn.close()
        logger.info("setSecret: the pending login of %s already works", arn)
        return

    if alternate_username(current["username"]) != pending["username"]:
        raise ValueError(
            f"Attempting to modify user {pending['username']} other than current user or clone"
        )
    if current["host"] != pending["host"]:
        raise ValueError(f"Attempting to modify user for host {pending['host']} other than current")

    conn = get_connection(current)
    if not conn:
        raise ValueError(f"Unable to log into database using current credentials for {arn}")
    conn.close()

    master_arn = current["masterarn"]
    master = get_secret_dict(client, master_arn, "AWSCURRENT", master=True)
    if master["host"] != current["host"]:
        raise ValueError(f"Current database host {current['host']} is not the master's host")
    conn = get_connection(master)
    if not conn:
        raise ValueError(f"Unable to log into database using credentials in {master_arn}")

    with conn, conn.cursor() as cur:
        cur.execute("SELECT User FROM mysql.user WHERE User = %s", (pending["username"],))
        if cur.fetchone() is None:
            cur.execute(
                "CREATE USER %s IDENTIFIED BY %s", (pending["username"], pending["password"])
            )
        # Copy the grants, keeping only the privilege part of each: "GRANT ... ON ..." before
        # " TO " (what follows names the user and may carry its password hash).
        cur.execute("SHOW GRANTS FOR %s", (current["username"],))
        for (grant,) in cur.fetchall():
            privileges = grant.split(" TO ", 1)[0]
            if privileges.startswith("GRANT PROXY"):
                continue
            cur.execute(privileges.replace("%", "%%") + " TO %s", (pending["username"],))
        if uses_password_function(cur):
            statement = "SET PASSWORD FOR %s = PASSWORD(%s)"
        else:
            statement = "SET PASSWORD FOR %s = %s"
        cur.execute(statement, (pending["username"], pending["password"]))
        conn.commit()
    logger.info("setSecret: set the password of %s for %s", pending["username"], arn)


def test_secret(client, arn, token):
    """Log in as the pending user and run a query."""
    conn = get_connection(get_secret_dict(client, arn, "AWSPENDING", token))
    if not conn:
        raise ValueError(f"Unable to log into database with pending secret of secret ARN {arn}")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT NOW()")
    logger.info("testSecret: logged in with the pending login of %s", arn)


def finish_secret(client, arn, token):
    """Move AWSCURRENT to ``token``."""
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
    if current == token:
        return
    client.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
    )
    logger.info("finishSecret: version %s of %s is now AWSCURRENT", token, arn)


def alternate_username(username):
    """The other user of the pair: ``name`` <-> ``name_clone``."""
    if username.endswith(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    clone = username + CLONE_SUFFIX
    if len(clone) > MAX_USERNAME:
        raise ValueError(
            f"Unable to clone user, username length with _clone appended exceeds {MAX_USERNAME}"
        )
    return clone


def uses_password_function(cur):
    """Whether SET PASSWORD wants PASSWORD('...') (MariaDB, MySQL 5.x) or the plaintext."""
    cur.execute("SELECT VERSION()")
    version = cur.fetchone()[0]
    major = version.split(".", 1)[0]
    return "MariaDB" in version or not major.isdigit() or int(major) < 8


def random_password(client):
    return client.get_random_password(
        ExcludeCharacters=os.environ.get("EXCLUDE_CHARACTERS", "/@\"'\\"),
        PasswordLength=int(os.environ.get("PASSWORD_LENGTH", "32")),
    )["RandomPassword"]


def get_connection(secret):
    """A connection logged in with ``secret``, or None when the database refuses it."""
    try:
        return pymysql.connect(
            host=secret["host"],
            port=int(secret.get("port") or 3306),
            user=secret["username"],
            password=secret["password"],
            database=secret.get("dbname") or None,
            connect_timeout=5,
        )
    except pymysql.OperationalError:
        return None


def get_secret_dict(client, arn, stage, token=None, master=False):
    """The secret's JSON at ``stage`` (and version ``token``), checked for the needed keys
    (a user's secret must also name its master secret)."""
    request = {"SecretId": arn, "VersionStage": stage}
    if token:
        request["VersionId"] = token
    secret = json.loads(client.get_secret_value(**request)["SecretString"])
    required = (
        ("host", "username", "password")
        if master
        else ("host", "username", "password", "masterarn")
    )
    for key in required:
        if key not in secret:
            raise KeyError(f"{key} key is missing from secret JSON")
    if secret.get("engine") not in ENGINES:
        raise KeyError("Database engine must be set to 'mysql' in order to use this function")
    return secret
