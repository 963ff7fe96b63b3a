"""Allows ``python -m serinus``."""

from serinus.cli import main

main.main()
