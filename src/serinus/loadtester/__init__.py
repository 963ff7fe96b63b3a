"""The load tester: a small HTTP service that answers Flagger's load tester API.

Canaries whose webhooks point at ``http://flagger-loadtester.<ns>/`` keep working when that Service
is served by ``serinus loadtester``: ``POST /`` runs commands (``hey`` load, ``bash`` checks,
``kubectl``), and ``/gate/*`` and ``/rollback/*`` are the manual gates. One module per concept:
:mod:`~serinus.loadtester.payload` (the webhook JSON), :mod:`~serinus.loadtester.authz` (who may run
what), :mod:`~serinus.loadtester.tasks` (task types, dedupe, background runs),
:mod:`~serinus.loadtester.process` (child processes in their own groups),
:mod:`~serinus.loadtester.hey` (hey's summary), :mod:`~serinus.loadtester.gates` (gate state on
disk), :mod:`~serinus.loadtester.metrics` and :mod:`~serinus.loadtester.app` (the routes).
"""
