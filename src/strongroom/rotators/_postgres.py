"""PostgreSQL connections and statements shared by the two PostgreSQL rotators."""

from __future__ import annotations

import psycopg
from psycopg import sql

from strongroom.rotators._steps import SecretDict

__all__ = ["ENGINES", "MAX_USERNAME", "connect", "password_statement", "run_test_query"]

ENGINES = frozenset({"postgres", "aurora-postgresql"})
MAX_USERNAME = 63  # NAMEDATALEN - 1


def connect(secret: SecretDict) -> psycopg.Connection[tuple[object, ...]] | None:
    """Log in with the secret's credentials; None when the server refuses them."""
    try:
        return psycopg.connect(
            host=secret["host"],
            port=int(secret.get("port") or 5432),
            user=secret["username"],
            password=secret["password"],
            dbname=secret.get("dbname") or "postgres",
            connect_timeout=5,
            autocommit=True,
        )
    except psycopg.OperationalError:
        return None


def password_statement(
    conn: psycopg.Connection[tuple[object, ...]], verb: str, username: str, password: str
) -> sql.Composed:
    """``ALTER USER``/``CREATE ROLE`` ``user WITH [LOGIN] PASSWORD`` (LOGIN for CREATE only:
    a user may change its password but not its attributes), the password hashed by libpq.

    Utility statements take no bind parameters, so the value is a quoted literal; hashing it
    client-side (as psql's \\password does) keeps the plaintext out of server statement logs.
    """
    verifier = conn.pgconn.encrypt_password(password.encode(), username.encode())
    login = " LOGIN" if verb == "CREATE ROLE" else ""
    return sql.SQL("{verb} {user} WITH{login} PASSWORD {password}").format(
        verb=sql.SQL(verb),
        login=sql.SQL(login),
        user=sql.Identifier(username),
        password=sql.Literal(verifier.decode()),
    )


def run_test_query(secret: SecretDict) -> None:
    """testSecret: log in with ``secret`` and run a query; ValueError if the login fails."""
    conn = connect(secret)
    if conn is None:
        raise ValueError("unable to log into database with the pending secret")
    with conn:
        conn.execute("SELECT now()")
