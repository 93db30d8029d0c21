"""The network layer: the HTTP client (retries, rate limits, credential scope)."""
