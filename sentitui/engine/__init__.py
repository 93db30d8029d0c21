"""The asyncio engine: orchestration, runners, the writer and the HTTP client.

No module here imports Textual: the console is only one of the engine's consumers.
"""
