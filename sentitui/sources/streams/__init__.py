"""Push sources: server-sent events, WebSockets and chunked NDJSON (see base.py)."""
