"""PDF and PNG copies of the HTML report, printed by headless Chromium.

Chromium is a system program (Debian's `chromium`), not a Python package: where it is
missing, `BrowserMissing` says how to get it. It runs with the network features off,
so printing the report makes no request either.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

__all__ = ["BrowserMissing", "CHROMIUM_FLAGS", "find_chromium", "print_page"]

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


class BrowserMissing(Exception):
    """No headless Chromium on this machine."""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


def print_page(page: str, out: Path, fmt: Literal["pdf", "png"] | str) -> None:
    """Render `page` (HTML text) to `out` as a PDF or a full-width PNG screenshot."""
    browser = find_chromium()
    if browser is None:
        raise BrowserMissing(
            f"--format {fmt} needs headless Chromium (apt-get install chromium); "
            "--format html or md need nothing"
        )
    with tempfile.TemporaryDirectory(prefix="sentitui-report-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(page, encoding="utf-8")
        target = out.resolve()
        action = (
            [f"--print-to-pdf={target}", "--no-pdf-header-footer"]
            if fmt == "pdf"
            else [f"--screenshot={target}", "--window-size=1100,6000"]
        )
        result = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile", *action, source.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if result.returncode != 0 or not target.is_file():
        raise OSError(
            result.returncode, f"chromium could not print the report: {result.stderr[-500:]}"
        )
