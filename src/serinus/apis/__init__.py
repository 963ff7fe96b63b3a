"""Resource models: Canary, MetricTemplate and AlertProvider, as Flagger defines them.

Pure data and validation, no I/O. The same pydantic models validate user input (``serinus
validate``, the operator) and generate the CRD schemas in ``deploy/crds/``
(:mod:`serinus.apis.crds`).
"""
