"""SentiTUI: a terminal console for sentiment-ingestion pipelines."""

__version__ = "0.1.0"
