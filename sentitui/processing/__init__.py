"""Turning mapped post fields into clean, scored, classified posts."""
