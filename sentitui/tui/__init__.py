"""The console (Textual). Only this package imports Textual; the engine never does."""
