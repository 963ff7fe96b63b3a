"""The bundled demo app that stands in for ``stefanprodan/podinfo`` in the sandbox.

The workload runner maps the image ``stefanprodan/podinfo:<tag>`` to ``serinus sandbox podinfo
--version <tag>``, so a Deployment written for a real cluster gets a process that answers the way
podinfo does: the info JSON on ``/`` (hostname, version, message), ``/version``, ``/status/{code}``,
``/delay/{seconds}``, ``/healthz`` and ``/readyz`` (with ``/readyz/enable|disable``), ``/token``,
``/env``, ``/headers`` and ``/metrics`` with podinfo's own series
(``http_request_duration_seconds{method,path,status}``, ``http_requests_total{status}``). The seed
story depends on those exact answers: ``hey`` against ``/status/500`` and ``/delay/1`` must fail
and slow the canary, and Flagger's pre-rollout check greps the ``/token`` reply for "token".

Module map: ``info`` (the settings and the info JSON, with each podinfo major version's defaults),
``metrics`` (the series and the route-name rule for ``path``), ``tokens`` (HS256 JWTs), ``app``
(routes), ``server`` (serve until a signal; one JSON access-log line per request).
"""

from serinus.sandbox.podinfo.app import create_app
from serinus.sandbox.podinfo.info import Podinfo
from serinus.sandbox.podinfo.server import serve

__all__ = ["Podinfo", "create_app", "serve"]
