"""Workload controllers (Deployment, DaemonSet): the primary copy, scaling, readiness, promotion."""
