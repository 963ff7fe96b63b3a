"""Fixtures shared by every test package. Each package keeps its own in its conftest.py."""
