"""The operator side of the hostile-input tests: the sandbox's API server and the real operator.

:func:`operated` starts the sandbox's Kubernetes API server in the test's event loop (with the
repository's CRDs, Linkerd's TrafficSplit CRD and namespace ``prod``), the deployment controller
played by hand (:class:`tests.operator.support.Kubelet`), and the real ``serinus operator``
process with JSON logs to a file. :class:`Operated` is what the tests read back, as a user of the
cluster would: the Canary's status, the Events of the namespace, the operator's log.

Canaries here need no metrics server: :func:`canary` builds one with no metrics (every step
passes), so a good release promotes within a few one-second ticks, and the tests that need a
query point their MetricTemplates at addresses of their own. The operator's ``--metrics-server``
is a closed loopback port: only its start-up check of metric providers ever calls it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import socket
from collections.abc import AsyncIterator
from typing import Any

from serinus.kube import Kube
from tests.operator.processes import Operator
from tests.operator.support import CANARY, DEPLOYMENT, NS, Cluster, Kubelet, cluster, eventually
from tests.operator.support import deployment as podinfo_deployment

Manifest = dict[str, Any]


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass
class Operated:
    """A cluster with the operator running, and what a user can read of it."""

    k8s: Cluster
    operator: Operator

    @property
    def kube(self) -> Kube:
        return self.k8s.kube

    async def canary(self, name: str) -> Manifest | None:
        return await self.kube.get(*CANARY, name, NS)

    async def status(self, name: str) -> Manifest:
        found = await self.canary(name)
        return {} if found is None else found.get("status") or {}

    async def events(self, name: str | None = None) -> list[Manifest]:
        """The Events of namespace prod (on the Canary ``name`` only, when given)."""
        found = await self.kube.list("v1", "Event", NS)
        if name is None:
            return found
        return [event for event in found if event["involvedObject"].get("name") == name]

    def log(self) -> str:
        return self.operator.log.read_text(errors="replace")

    async def everything_said(self) -> str:
        """What serinus said: every Event, the status of every Canary, the operator's log."""
        statuses = [c.get("status") for c in await self.kube.list(*CANARY, NS)]
        return "\n".join([json.dumps(await self.events()), json.dumps(statuses), self.log()])

    async def wait_phase(self, name: str, *phases: str, within: float = 60.0) -> Manifest:
        return await eventually(
            lambda: self.status(name),
            lambda found: found.get("phase") in phases,
            what=f"phase of Canary {name} in {phases}",
            within=within,
        )

    async def wait_condition(self, name: str, text: str, *, within: float = 60.0) -> Manifest:
        """The Promoted condition of ``name`` once its message holds ``text``."""

        async def promoted() -> Manifest:
            conditions = (await self.status(name)).get("conditions") or []
            return next((c for c in conditions if c.get("type") == "Promoted"), {})

        return await eventually(
            promoted,
            lambda found: text in str(found.get("message", "")),
            what=f"Promoted condition of Canary {name} naming {text!r}",
            within=within,
        )

    async def wait_event(self, name: str, text: str, *, within: float = 60.0) -> Manifest:
        """The first Warning event on Canary ``name`` whose message holds ``text``."""
        found = await eventually(
            lambda: self.events(name),
            lambda events: any(
                text in e.get("message", "") and e.get("type") == "Warning" for e in events
            ),
            what=f"a Warning event on Canary {name} naming {text!r}",
            within=within,
        )
        return next(e for e in found if text in e.get("message", ""))

    async def release(self, name: str, image: str, *, within: float = 60.0) -> None:
        """Roll ``image`` out to the target ``name`` and wait for the Canary to promote it.

        Waits first for the Canary to be at rest: a target changed during initialization is what
        the primary starts from, not a new revision.
        """
        await self.wait_phase(name, "Initialized", "Succeeded", "Failed", within=within)
        patch = {
            "spec": {"template": {"spec": {"containers": [{"name": "podinfod", "image": image}]}}}
        }
        await self.kube.patch(*DEPLOYMENT, name, NS, patch, patch_type="strategic")
        await self.wait_phase(name, "Progressing", "Succeeded", within=within)
        await eventually(
            lambda: self.kube.get(*DEPLOYMENT, f"{name}-primary", NS),
            lambda primary: (
                primary is not None
                and primary["spec"]["template"]["spec"]["containers"][0]["image"] == image
            ),
            what=f"{name}-primary running {image}",
            within=within,
        )
        await self.wait_phase(name, "Succeeded", within=within)


def deployment(name: str, *, image: str = "stefanprodan/podinfo:2.1.0") -> Manifest:
    return podinfo_deployment(name, image=image)


def canary(
    name: str,
    *,
    target: str | None = None,
    interval: str = "1s",
    step_weight: int = 50,
    **analysis: Any,
) -> Manifest:
    """A v1beta1 Canary for Deployment ``target`` (``name`` by default) with no metrics: every
    step passes, so a release promotes within a few ticks."""
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "provider": "linkerd",
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target or name},
            "progressDeadlineSeconds": 60,
            "service": {"port": 9898},
            "analysis": {
                "interval": interval,
                "threshold": 2,
                "stepWeight": step_weight,
                "maxWeight": 100,
                **analysis,
            },
        },
    }


@contextlib.asynccontextmanager
async def operated(
    directory: pathlib.Path, *, extra: tuple[str, ...] = ()
) -> AsyncIterator[Operated]:
    """The API server, the deployment controller and the operator process, stopped at the end."""
    async with cluster(directory) as k8s, Kubelet(k8s.kube):
        metrics_server = f"http://127.0.0.1:{closed_port()}"
        log = directory / "operator.log"
        with Operator(k8s.kubeconfig, log, metrics_server=metrics_server, extra=extra) as process:
            yield Operated(k8s, process)
