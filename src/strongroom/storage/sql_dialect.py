"""What the SQL backends share below their statements: ``Sql`` text, written once with ``?``
placeholders, and ``SqlTx``, which rewrites it into a driver's placeholder style once, when a
backend's transaction class is created, so no statement is converted per call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Literal, Protocol

__all__ = ["Connection", "Cursor", "Paramstyle", "Sql", "SqlTx"]

# DB-API names: sqlite3 takes "qmark" (?), psycopg "format" (%s).
Paramstyle = Literal["qmark", "format"]


class Sql(str):
    """A statement with one ``?`` per parameter and no other ``?``; a ``%`` is literal."""

    __slots__ = ()


def _rewrite(text: str, paramstyle: Paramstyle) -> str:
    if paramstyle == "qmark":
        return str(text)
    # psycopg reads a lone % as the start of a placeholder.
    return text.replace("%", "%%").replace("?", "%s")


class Cursor(Protocol):
    """The part of a DB-API cursor the shared statements use."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the shared statements use."""

    def execute(self, sql: str, params: Any = ..., /) -> Cursor: ...


class SqlTx:
    """Base of the statement mixins (``sql_*.py``) over ``self._c``.

    A backend's transaction class names its driver's style, ``class _Tx(..., paramstyle=
    "format")``, and defines the statements and hooks its mixins leave to the dialect; every
    ``Sql`` class attribute (or tuple of them) it inherits or defines then becomes a plain
    ``str`` in that style.
    """

    _c: Connection
    # The placeholder, for the few statements built per call (filters, IN lists).
    _P: ClassVar[str]

    def __init_subclass__(cls, paramstyle: Paramstyle | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if paramstyle is None:
            return  # a mixin: its statements stay as written until a backend takes them
        cls._P = _rewrite("?", paramstyle)
        for name in dir(cls):
            value = getattr(cls, name)
            if isinstance(value, Sql):
                setattr(cls, name, _rewrite(value, paramstyle))
            elif isinstance(value, tuple) and value and all(isinstance(v, Sql) for v in value):
                setattr(cls, name, tuple(_rewrite(v, paramstyle) for v in value))
        # A statement a mixin declares (ClassVar, no value) and the backend forgot fails here,
        # when the module is imported, not at its first use.
        for klass in cls.__mro__:
            for name, annotation in vars(klass).get("__annotations__", {}).items():
                if str(annotation).startswith("ClassVar") and not hasattr(cls, name):
                    raise TypeError(f"{cls.__qualname__} does not define {name}")

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        """The condition "``column`` is one of ``values``" (at most ``_IN_CHUNK`` of them) in
        the dialect, and its parameters."""
        raise NotImplementedError

    # How many values one ``_in`` condition takes at most.
    _IN_CHUNK: ClassVar[int]
