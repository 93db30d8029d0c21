"""Which database `--db` names: a SQLite file (a path or `sqlite:///PATH`, the default)
or a PostgreSQL server (`postgresql://user@host:port/db`), and the connection surface
both backends give the Store (the DB-API subset its queries use)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

Backend = Literal["sqlite", "postgresql"]
DbTarget = str | os.PathLike[str]


class Cursor(Protocol):
    rowcount: int

    @property
    def description(self) -> Sequence[Any] | None: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the Store calls on a connection: sqlite3's, or the PostgreSQL adapter."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DbUrl:
    backend: Backend
    path: Path | None = None  # sqlite
    url: str = ""  # postgresql, as given (may hold a password: never print it)

    @classmethod
    def parse(cls, value: DbTarget) -> DbUrl:
        """`sqlite:///rel.db` and `sqlite:////abs.db` as SQLAlchemy spells them; anything
        that is not a URL is a file path."""
        if isinstance(value, str):
            if value.startswith(("postgresql://", "postgres://")):
                return cls("postgresql", url=value)
            if value.startswith("sqlite:///"):
                return cls("sqlite", path=Path(value.removeprefix("sqlite:///")))
            if re.match(r"^[a-z][a-z0-9+.-]*://", value):
                from sentitui.store import StoreError  # the CLI's exit-2 usage error

                raise StoreError(
                    f"--db {redact(value)}: unknown database URL "
                    "(use a path, sqlite:///PATH or postgresql://user@host:port/db)"
                )
        return cls("sqlite", path=Path(value))

    @property
    def display(self) -> str:
        """For messages and logs: the file, or the URL without its password."""
        return str(self.path) if self.backend == "sqlite" else redact(self.url)


def redact(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:***@host/db, and any
    `password=` query parameter likewise."""
    url = re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", url)


def db_target(value: DbTarget) -> str | Path:
    """What engine parts keep as their database: a Path for a file, the URL string
    otherwise (Path() would fold the URL's `//`)."""
    parsed = DbUrl.parse(value)
    return parsed.path if parsed.path is not None else parsed.url


def describe(value: DbTarget) -> str:
    """A database for a log line or message: never with its password."""
    return DbUrl.parse(value).display


def is_postgres(value: DbTarget) -> bool:
    return DbUrl.parse(value).backend == "postgresql"
