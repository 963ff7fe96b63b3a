"""Metric backends: one module per backend, the contract in ``base``, the types in ``registry``."""
