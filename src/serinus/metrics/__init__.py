"""Metric providers: Prometheus and the other backends, the built-in queries per mesh, templates."""
