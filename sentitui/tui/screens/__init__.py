"""One module per screen of the console, plus the modal screens (help, preview)."""
