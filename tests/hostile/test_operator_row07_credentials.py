"""Issue 10, row 7: a webhook URL or MetricTemplate address with ``user:password@`` or
``?token=`` put the credentials into Events, the Canary's status and the operator's log.

Through the real operator: Canary ``hooked`` has a rollout hook and an event hook whose URLs
carry a password and a token, and Canary ``measured`` a metric whose MetricTemplate's Prometheus
address carries others; every one of them is refused (closed ports), so every message names
them, step after step, until both releases are rolled back. Not one of the four secrets appears
in any Event, any Canary's status or the operator's log, while the messages still say where the
calls went (host and port).
"""

from __future__ import annotations

import pathlib

import pytest

from tests.hostile.cluster import canary, closed_port, deployment, operated
from tests.operator.support import NS, set_image

pytestmark = pytest.mark.slow  # starts the operator process

SECRETS = ("hook-pass-7x", "hook-token-7x", "prom-pass-7x", "prom-token-7x")


async def test_credentials_in_urls_never_reach_events_status_or_logs(
    tmp_path: pathlib.Path,
) -> None:
    hooks, prometheus = closed_port(), closed_port()
    async with operated(tmp_path) as cluster:
        kube = cluster.kube
        await kube.create(
            {
                "apiVersion": "flagger.app/v1beta1",
                "kind": "MetricTemplate",
                "metadata": {"name": "errors", "namespace": NS},
                "spec": {
                    "provider": {
                        "type": "prometheus",
                        "address": f"http://admin:prom-pass-7x@127.0.0.1:{prometheus}"
                        "/?token=prom-token-7x",
                    },
                    "query": "vector(1)",
                },
            }
        )
        hook = f"http://hooks:hook-pass-7x@127.0.0.1:{hooks}/check?token=hook-token-7x&x=1"
        hooked = canary("hooked", threshold=2)
        hooked["spec"]["analysis"]["webhooks"] = [
            {"name": "load", "type": "rollout", "url": hook},
            {"name": "tell", "type": "event", "url": hook},
        ]
        measured = canary("measured", threshold=2)
        measured["spec"]["analysis"]["metrics"] = [
            {"name": "errors", "templateRef": {"name": "errors"}, "thresholdRange": {"max": 5}}
        ]
        for manifest in (hooked, measured):
            name = manifest["metadata"]["name"]
            await kube.create(deployment(name))
            await kube.create(manifest)
            await cluster.wait_phase(name, "Initialized")
            await set_image(kube, name, "stefanprodan/podinfo:2.1.1")
        for name in ("hooked", "measured"):
            await cluster.wait_phase(name, "Failed", within=90)

        said = await cluster.everything_said()
        for secret in SECRETS:
            assert secret not in said, f"{secret} leaked"
        # the messages still say where the calls went
        hooked_events = " ".join(e["message"] for e in await cluster.events("hooked"))
        assert f"127.0.0.1:{hooks}/check" in hooked_events
        measured_events = " ".join(e["message"] for e in await cluster.events("measured"))
        assert f"127.0.0.1:{prometheus}" in measured_events
        assert "Traceback" not in cluster.log()
