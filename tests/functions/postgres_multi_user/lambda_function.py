"""Rotation function for a PostgreSQL login with alternating users, written the way AWS's
published rotation functions are: a master secret's credentials (``masterarn``) create a clone
of the user (``<username>_clone``, a member of the user's role) and each rotation sets a new
password on whichever of the two is not current, so the current one keeps working.

The secret is JSON: engine ("postgres"), host, username, password, masterarn, and optionally
dbname (default "postgres"), port (default 5432) and ssl. Environment: SECRETS_MANAGER_ENDPOINT,
and optionally EXCLUDE_CHARACTERS and PASSWORD_LENGTH.
"""

import json
import logging
import os

import boto3
import psycopg
from psycopg import sql

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ENGINES = ("postgres", "aurora-postgresql")
CLONE_SUFFIX = "_clone"
MAX_USERNAME = 63


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
    """As the master user, create the pending user (a member of the current user's role) or
    set its password."""
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

    # The current login must work: a secret naming someone else's user must not let this
    # function act on that user with the master's rights.
    conn = get_connection(current)
    if not conn:
        raise ValueError(f"Unable to log into database using current credentials for {arn}")
    conn.close()

    master_arn = current["masterarn"]
    master = get_secret_dict(client, master_arn, "AWSCURRENT", master=True)
    master["dbname"] = current.get("dbname")
    if master["host"] != current["host"]:
        raise ValueError(f"Current database host {current['host']} is not the master's host")
    conn = get_connection(master)
    if not conn:
        raise ValueError(f"Unable to log into database using credentials in {master_arn}")

    with conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (pending["username"],)
        ).fetchone()
        verifier = conn.pgconn.encrypt_password(
            pending["password"].encode(), pending["username"].encode()
        ).decode()
        if exists:
            conn.execute(
                sql.SQL("ALTER USER {} WITH PASSWORD {}").format(
                    sql.Identifier(pending["username"]), sql.Literal(verifier)
                )
            )
        else:
            conn.execute(
                sql.SQL("CREATE ROLE {} WITH LOGIN PASSWORD {}").format(
                    sql.Identifier(pending["username"]), sql.Literal(verifier)
                )
            )
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(current["username"]), sql.Identifier(pending["username"])
                )
            )
    logger.info("setSecret: set the password of %s for %s", pending["username"], arn)


def test_secret(client, arn, token):
    """Log in as the pending user and run a query."""
    conn = get_connection(get_secret_dict(client, arn, "AWSPENDING", token))
    if not conn:
        raise ValueError(f"Unable to log into database with pending secret of secret ARN {arn}")
    with conn:
        conn.execute("SELECT now()")
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


def random_password(client):
    return client.get_random_password(
        ExcludeCharacters=os.environ.get("EXCLUDE_CHARACTERS", "/@\"'\\"),
        PasswordLength=int(os.environ.get("PASSWORD_LENGTH", "32")),
    )["RandomPassword"]


def get_connection(secret):
    """A connection logged in with ``secret``, or None when the database refuses it."""
    try:
        return psycopg.connect(
            host=secret["host"],
            port=int(secret.get("port") or 5432),
            user=secret["username"],
            password=secret["password"],
            dbname=secret.get("dbname") or "postgres",
            sslmode="require" if str(secret.get("ssl", "")).lower() == "true" else "prefer",
            connect_timeout=5,
            autocommit=True,
        )
    except psycopg.OperationalError:
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
        raise KeyError("Database engine must be set to 'postgres' in order to use this function")
    return secret
