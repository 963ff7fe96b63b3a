"""Which mesh provider the sandbox's operator runs with, for ``serinus demo --mesh-provider``.

The sandbox's proxy serves the traffic objects of two of serinus's routers: Linkerd's SMI
TrafficSplit (the seed's) and Contour's HTTPProxy. :func:`use` sets the operator Deployment's
``--mesh-provider`` argument as a user reconfigures Flagger (``kubectl edit``), and waits until
the workload runner has replaced the operator's pod; a Deployment already set is left alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from serinus.kube import Kube
from serinus.sandbox.demo.observe import DemoTimeout

OPERATOR = ("apps/v1", "Deployment", "serinus", "serinus-system")
PROVIDERS = ("linkerd", "contour")
"""The providers whose traffic objects the sandbox's proxy serves (the seed's is linkerd)."""
_FLAG = "--mesh-provider="


async def use(kube: Kube, wanted: str, *, say: Callable[[str], None], within: float = 90) -> None:
    """Run the operator with ``--mesh-provider=<wanted>``.

    Raises:
        DemoTimeout: when the operator is not deployed, or not back within ``within`` seconds.
    """
    operator = await kube.get(*OPERATOR)
    if operator is None:
        raise DemoTimeout("the operator (serinus-system/serinus) is not deployed")
    container = operator["spec"]["template"]["spec"]["containers"][0]
    args = [str(arg) for arg in container.get("args") or []]
    current = next((a[len(_FLAG) :] for a in args if a.startswith(_FLAG)), "linkerd")
    if current == wanted:
        return
    say(f"kubectl -n serinus-system edit deployment/serinus: --mesh-provider={wanted} ({current})")
    container["args"] = [a for a in args if not a.startswith(_FLAG)] + [f"{_FLAG}{wanted}"]
    generation = int(operator["metadata"].get("generation") or 0)
    await kube.replace(operator)
    deadline = time.monotonic() + within
    while not await _rolled_out(kube, generation):
        if time.monotonic() > deadline:
            raise DemoTimeout(f"the operator did not restart with --mesh-provider={wanted}")
        await asyncio.sleep(0.2)


async def _rolled_out(kube: Kube, generation: int) -> bool:
    status = (await kube.get(*OPERATOR) or {}).get("status") or {}
    replicas, updated = int(status.get("replicas") or 0), int(status.get("updatedReplicas") or 0)
    return (
        int(status.get("observedGeneration") or 0) > generation
        and updated >= 1
        and int(status.get("availableReplicas") or 0) >= 1
        and replicas == updated
    )
