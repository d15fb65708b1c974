"""Rotation function for one MySQL/MariaDB login that changes its own password, written the way
AWS's published rotation functions are (a Lambda handler over boto3 ``secretsmanager``).

The secret is JSON: engine ("mysql" or "mariadb"), host, username, password, and optionally
dbname and port (default 3306). Environment: SECRETS_MANAGER_ENDPOINT, and optionally
EXCLUDE_CHARACTERS and PASSWORD_LENGTH.
"""

import json
import logging
import os

import boto3
import pymysql

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ENGINES = ("mysql", "mariadb", "aurora-mysql", "aurora")


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

    if step == "createSecret":
        create_secret(client, arn, token)
    elif step == "setSecret":
        set_secret(client, arn, token)
    elif step == "testSecret":
        test_secret(client, arn, token)
    elif step == "finishSecret":
        finish_secret(client, arn, token)
    else:
        raise ValueError(f"Invalid step parameter {step} for secret {arn}")


def create_secret(client, arn, token):
    """Store a new password under AWSPENDING for ``token``, unless that version has a value."""
    current = get_secret_dict(client, arn, "AWSCURRENT")
    try:
        get_secret_dict(client, arn, "AWSPENDING", token)
        logger.info("createSecret: version %s of %s already has a value", token, arn)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    current["password"] = random_password(client)
    client.put_secret_value(
        SecretId=arn,
        ClientRequestToken=token,
        SecretString=json.dumps(current),
        VersionStages=["AWSPENDING"],
    )
    logger.info("createSecret: stored a new password as version %s of %s", token, arn)


def set_secret(client, arn, token):
    """Make the database accept the pending password, logging in with the pending, current or
    previous one."""
    pending = get_secret_dict(client, arn, "AWSPENDING", token)
    conn = get_connection(pending)
    if conn:
        conn.close()
        logger.info("setSecret: the pending password of %s already works", arn)
        return

    current = get_secret_dict(client, arn, "AWSCURRENT")
    if current["username"] != pending["username"]:
        raise ValueError(f"Attempting to modify user {pending['username']} other than current")
    if current["host"] != pending["host"]:
        raise ValueError(f"Attempting to modify user for host {pending['host']} other than current")

    conn = get_connection(current)
    if not conn:
        try:
            previous = get_secret_dict(client, arn, "AWSPREVIOUS")
        except client.exceptions.ResourceNotFoundException:
            previous = None
        if previous and (previous["username"], previous["host"]) == (
            pending["username"],
            pending["host"],
        ):
            conn = get_connection(previous)
    if not conn:
        raise ValueError(
            f"Unable to log into database with previous, current, or pending secret of {arn}"
        )

    with conn, conn.cursor() as cur:
        # A user may always SET its own PASSWORD; MariaDB and MySQL before 8 hash with PASSWORD().
        if uses_password_function(cur):
            cur.execute("SET PASSWORD = PASSWORD(%s)", (pending["password"],))
        else:
            cur.execute("SET PASSWORD = %s", (pending["password"],))
        conn.commit()
    logger.info("setSecret: set the pending password for %s in MySQL", arn)


def test_secret(client, arn, token):
    """Log in with the pending password and run a query."""
    conn = get_connection(get_secret_dict(client, arn, "AWSPENDING", token))
    if not conn:
        raise ValueError(f"Unable to log into database with pending secret of secret ARN {arn}")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT NOW()")
    logger.info("testSecret: logged in with the pending password of %s", arn)


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


def get_secret_dict(client, arn, stage, token=None):
    """The secret's JSON at ``stage`` (and version ``token``), checked for the needed keys."""
    request = {"SecretId": arn, "VersionStage": stage}
    if token:
        request["VersionId"] = token
    secret = json.loads(client.get_secret_value(**request)["SecretString"])
    for key in ("host", "username", "password"):
        if key not in secret:
            raise KeyError(f"{key} key is missing from secret JSON")
    if secret.get("engine") not in ENGINES:
        raise KeyError("Database engine must be set to 'mysql' in order to use this function")
    return secret
