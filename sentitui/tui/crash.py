"""Where the console writes the traceback of an error that ends it.

Textual prints an unhandled exception (with the local variables of every frame)
over the terminal it is leaving; we write the plain traceback to a file instead,
and say on stderr where it is, and the console exits non-zero.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path


def crash_folders(db_path: str | Path) -> list[Path]:
    """The database's folder first (where the user looks), else $XDG_STATE_HOME/sentitui."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return [Path(db_path).resolve().parent, Path(state) / "sentitui"]


def write_crash_report(db_path: str | Path, error: BaseException) -> Path | None:
    """Write `error`'s traceback to a new file; its path, or None if no folder took it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    text = "".join(traceback.format_exception(error))
    for folder in crash_folders(db_path):
        path = folder / f"sentitui-console-crash-{stamp}-{os.getpid()}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        return path
    return None


def crash_message(error: BaseException, path: Path | None) -> str:
    where = f"the full traceback is in {path}" if path else "no folder took its traceback"
    return f"sentitui: the console stopped on an error: {type(error).__name__}: {error}\n{where}"
