"""`sentitui demo`: a local server replaying sample_data/ live, and the console on it.

Importing this package stays cheap (no aiohttp, no Textual): the CLI imports it
on every `sentitui demo` and the real work loads only when `run_demo` is called.
"""

from __future__ import annotations

from typing import Any


def run_demo(db_path: str, port: int = 0, **kwargs: Any) -> None:
    """Start the demo server, write the live pipeline, open the console; see launch.py."""
    from sentitui.demo.launch import run_demo as run

    run(db_path, port, **kwargs)


__all__ = ["run_demo"]
