"""The key behind author hashes lives outside the database.

Whoever holds the `.db` file must not be able to re-identify authors by hashing a
list of candidate handles, so the HMAC key is never stored in it. It comes from,
in this order:
1. `SENTITUI_AUTHOR_KEY` (or the older `SENTITUI_SECRET`) in the environment;
2. the key file: `SENTITUI_AUTHOR_KEY_FILE` if set, else `<database>.key` next to the
   SQLite file, created on first use with mode 0600 (owner read/write only). A
   PostgreSQL database has no file beside it: its key file is named from the URL's
   database, host and port under the user's config folder
   (`$XDG_CONFIG_HOME/sentitui/<db>@<host>-<port>.key`, see base_for_url), so every
   daemon of a fleet on this machine finds the same key; on other machines set
   SENTITUI_AUTHOR_KEY (or copy the file). `sentitui migrate` carries the key over.
A database written before this rule holds its key in the `meta` table: on first open
it is moved into the key file (hashes stay the same) and deleted from the database.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ENV_KEYS = ("SENTITUI_AUTHOR_KEY", "SENTITUI_SECRET")
KEY_FILE_ENV = "SENTITUI_AUTHOR_KEY_FILE"
META_KEY = "author_secret"  # where databases before issue 11 kept it


class AuthorKeyError(Exception):
    """The key file cannot be read or written; the message names it."""


def key_file_for(db_path: Path) -> Path:
    override = os.environ.get(KEY_FILE_ENV)
    return Path(override) if override else db_path.with_name(db_path.name + ".key")


def base_for_url(url: str) -> Path:
    """What key_file_for takes for a PostgreSQL URL (the password plays no part)."""
    parts = urlsplit(url)
    database = parts.path.lstrip("/") or parts.username or "postgres"
    name = f"{database}@{parts.hostname or 'local'}-{parts.port or 5432}"
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "sentitui" / re.sub(r"[^A-Za-z0-9@._-]", "_", name)


def existing_key(db_path: Path) -> str | None:
    """The key a database's readers would use now, without creating one."""
    for name in ENV_KEYS:
        if os.environ.get(name):
            return os.environ[name]
    return _read(key_file_for(db_path))


def _read(path: Path) -> str | None:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuthorKeyError(f"author key file {path}: cannot read it: {exc.strerror}") from None
    if not value:
        raise AuthorKeyError(f"author key file {path} is empty: restore it or delete it")
    return value


def _create(path: Path, value: str) -> str:
    """Write a new key file readable by its owner only; if another process made one
    first, theirs is the key. The key is written to a private temporary file and linked
    into place, so a daemon starting at the same moment never reads a half-written one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise AuthorKeyError(f"author key file {path}: cannot create it: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # atomic, and fails where a key file already is
        except FileExistsError:
            return _read(path) or value
        except OSError as exc:
            raise AuthorKeyError(
                f"author key file {path}: cannot create it: {exc.strerror}"
            ) from None
    finally:
        os.unlink(temporary)
    return value


def author_key(db_path: Path, stored_in_db: str | None) -> str:
    """The key (see the module docstring). `stored_in_db` is a key an older database
    kept in `meta`: it goes to the key file unless one exists (the caller then deletes
    it from the database). A key file that differs from it keeps the database's key
    beside it as `<key file>.from-db`, so no hash becomes unexplainable."""
    path = key_file_for(db_path)
    if stored_in_db:
        existing = _read(path)
        if existing is None:
            _create(path, stored_in_db)
        elif existing != stored_in_db:
            _create(path.with_name(path.name + ".from-db"), stored_in_db)
    for name in ENV_KEYS:
        if os.environ.get(name):
            return os.environ[name]
    return _read(path) or _create(path, secrets.token_hex(32))
