"""Issue 10, row 3: a Canary whose targetRef is another Canary's ``app1-primary`` scaled it to 0
(the other release's production traffic lost its pods) and, without ``service.name``, left
``app1-primary-primary`` and two Services behind.

Through the real operator: Canary ``app1`` releases Deployment ``app1``. Then three hostile
Canaries arrive: ``thief`` targets ``app1-primary`` (no ``service.name``), ``sneak`` targets it
with a ``service.name`` of its own, and ``twin`` targets ``app1`` itself (a second Canary on a
workload that already has one). Each is refused with a Promoted condition and a Warning event
naming the owner; ``app1-primary`` keeps its replicas and template; nothing named
``app1-primary-primary`` (Deployment or Service) or ``app1-primary-canary`` is ever created;
``app1``'s Services keep their selectors; and ``app1`` still promotes a new release while the
three sit there. Deleting them leaves the cluster as it was.
"""

from __future__ import annotations

import pathlib

import pytest

from tests.hostile.cluster import Operated, canary, deployment, operated
from tests.operator.support import DEPLOYMENT, NS, History

pytestmark = pytest.mark.slow  # starts the operator process

CREATED_BY_NOBODY = [
    ("apps/v1", "Deployment", "app1-primary-primary"),
    ("v1", "Service", "app1-primary-primary"),
    ("v1", "Service", "app1-primary-canary"),
    ("v1", "Service", "sneaky-primary"),
    ("v1", "Service", "sneaky-canary"),
    ("v1", "Service", "sneaky"),
]


async def _services(cluster: Operated) -> dict[str, object]:
    found = await cluster.kube.list("v1", "Service", NS)
    return {s["metadata"]["name"]: s["spec"].get("selector") for s in found}


async def test_a_canary_cannot_take_another_canarys_workloads(tmp_path: pathlib.Path) -> None:
    async with operated(tmp_path) as cluster:
        kube = cluster.kube
        await kube.create(deployment("app1"))
        await kube.create(canary("app1"))
        await cluster.wait_phase("app1", "Initialized")
        services = await _services(cluster)
        primary = await kube.get(*DEPLOYMENT, "app1-primary", NS)
        assert primary is not None

        replicas = History(kube, *DEPLOYMENT, "app1-primary", lambda d: d["spec"]["replicas"])
        async with replicas:
            sneak = canary("sneak", target="app1-primary")
            sneak["spec"]["service"]["name"] = "sneaky"
            for hostile in (canary("thief", target="app1-primary"), sneak):
                await kube.create(hostile)
            await kube.create(canary("twin", target="app1"))
            for name in ("thief", "sneak"):
                await cluster.wait_condition(name, "app1-primary")
                await cluster.wait_event(name, "Canary prod/app1")
            await cluster.wait_condition("twin", "Canary prod/app1")
            await cluster.wait_event("twin", "Canary prod/app1")

            # the rightful owner keeps releasing while the three are refused
            await cluster.release("app1", "stefanprodan/podinfo:2.1.1")
            await cluster.release("app1", "stefanprodan/podinfo:2.1.2")
            for name in ("thief", "sneak", "twin"):
                condition = (await cluster.status(name))["conditions"][0]
                assert condition["status"] == "False", condition

        assert 0 not in replicas.values, replicas.values
        for api_version, kind, name in CREATED_BY_NOBODY:
            assert await kube.get(api_version, kind, name, NS) is None, f"{kind} {name} exists"
        assert await _services(cluster) == services
        target = await kube.get(*DEPLOYMENT, "app1", NS)
        assert target is not None
        assert target["spec"]["replicas"] == 0  # app1's own scale-down

        for name in ("thief", "sneak", "twin"):
            await kube.delete("flagger.app/v1beta1", "Canary", name, NS)
        await cluster.release("app1", "stefanprodan/podinfo:2.1.3")
        assert await _services(cluster) == services
        assert "Traceback" not in cluster.log()
