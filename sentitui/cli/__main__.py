"""`python -m sentitui.cli`: the same entry point as the `sentitui` script."""

from sentitui.cli import main

main()
