"""MySQL and MariaDB connections (PyMySQL) shared by the two MySQL rotators."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pymysql
import pymysql.cursors

from strongroom.rotators._steps import SecretDict

__all__ = [
    "ENGINES",
    "MAX_USERNAME",
    "Connection",
    "check_username",
    "connect",
    "password_expression",
    "run_test_query",
]

ENGINES = frozenset({"mysql", "aurora-mysql", "mariadb"})
MAX_USERNAME = 32  # MySQL 5.7+; MariaDB allows 80, the template keeps to 32
# Account names go into statements as quoted strings; a strict pattern keeps them plain.
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,32}")

if TYPE_CHECKING:
    Connection = pymysql.connections.Connection[pymysql.cursors.Cursor]
else:  # only the stubs make it generic
    Connection = pymysql.connections.Connection


def check_username(username: str) -> str:
    """Return ``username`` if it matches the strict pattern, else raise ValueError."""
    if not _USERNAME.fullmatch(username):
        raise ValueError("username must be 1-32 letters, digits or underscores")
    return username


def connect(secret: SecretDict) -> Connection | None:
    """Log in with the secret's credentials; None when the server refuses them."""
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


def password_expression(conn: Connection) -> str:
    """The right-hand side of SET PASSWORD for this server, with one ``%s`` placeholder.

    MySQL 8 and later take the plaintext; MariaDB and MySQL 5.x need PASSWORD() (the
    template tests for a leading "8", which misses MySQL 9 and MariaDB's own numbering).
    """
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        row = cur.fetchone()
    version = str(row[0]) if row else ""
    major = version.split(".", 1)[0]
    if "MariaDB" in version or not major.isdigit() or int(major) < 8:
        return "PASSWORD(%s)"
    return "%s"


def run_test_query(secret: SecretDict) -> None:
    """testSecret: log in with ``secret`` and run a query; ValueError if the login fails."""
    conn = connect(secret)
    if conn is None:
        raise ValueError("unable to log into database with the pending secret")
    with conn, conn.cursor() as cur:
        cur.execute("SELECT NOW()")
