"""The canary state machine: one :func:`serinus.controller.advance.advance` call per tick.

The controller sees the world only through the small protocols of :mod:`serinus.ports`;
it never imports a concrete router, workload, metrics provider, notifier or the Kubernetes client.
In-memory implementations of every port live in :mod:`serinus.controller.memory`, used by the tests
and by ``serinus rehearse``.
"""
