"""serinus: progressive delivery for Kubernetes, compatible with Flagger's Canary resources.

The package has no import side effects; the command line lives in :mod:`serinus.cli`.
"""

__version__ = "0.1.0"
