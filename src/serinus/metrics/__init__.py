"""Metric providers: Prometheus and the other backends, the built-in queries per mesh, templates.

- :mod:`serinus.metrics.checks`: :class:`~serinus.metrics.checks.MetricChecks`, the
  :class:`serinus.ports.Metrics` the operator hands to the controller;
- :mod:`serinus.metrics.queries` and :mod:`serinus.metrics.observers`: the built-in queries of every
  mesh as one table, their primary-side twins, and the count and histogram forms for the
  statistical judges;
- :mod:`serinus.metrics.templating`: Flagger's ``{{ namespace }}``-style query templates;
- :mod:`serinus.metrics.diagnosis`: why a query found no values;
- :mod:`serinus.metrics.providers`: one module per backend behind one contract.
"""
