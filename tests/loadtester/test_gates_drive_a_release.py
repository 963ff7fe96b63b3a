"""The load tester's gates hold and release a real run of the state machine.

The Canary's webhooks point at a real load tester on a loopback port and are called by serinus'
real webhook client; the rest of the world is in memory. Covers: a closed gate makes the
confirm-promotion hook fail, so the run waits in WaitingPromotion (analysis still running), and
opening the gate lets it finish; `/gate/halt` as confirm-rollout holds a new revision in Waiting and
`/gate/approve` lets it start; an opened rollback gate rolls the run back.
"""

from __future__ import annotations

import httpx
from tests.controller.support import Run, hook, new_canary
from tests.loadtester.conftest import LoadTester

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.webhooks.client import WebhookClient


class _NoSecrets:
    async def metric_template(self, namespace: str, name: str) -> object:
        raise AssertionError("not used")

    async def alert_provider(self, namespace: str, name: str) -> object:
        raise AssertionError("not used")

    async def secret(self, namespace: str, name: str) -> dict[str, str]:
        raise AssertionError("not used")

    async def signing_secret(self, namespace: str, name: str) -> dict[str, str]:
        raise AssertionError("not used")


def _run(canary: Canary, http: httpx.AsyncClient) -> Run:
    run = Run(canary)
    run.world.webhooks = WebhookClient(http, resources=_NoSecrets())  # type: ignore[assignment,arg-type]
    return run


async def test_a_closed_gate_holds_promotion_until_it_opens(
    loadtester: LoadTester, http: httpx.AsyncClient
) -> None:
    canary = new_canary(
        stepWeight=50,
        webhooks=[hook("gate", "confirm-promotion", url=f"{loadtester.base}/gate/check")],
    )
    run = _run(canary, http)
    await run.release()
    await run.until(CanaryPhase.WAITING_PROMOTION)
    assert run.log[-1] == "Halt podinfo.prod advancement waiting for promotion approval gate"
    await run.ticks(3)
    assert run.status.phase is CanaryPhase.WAITING_PROMOTION
    assert run.routes == (0, 100)
    opened = await loadtester.post("/gate/open", {"name": "podinfo", "namespace": "prod"})
    assert opened.status_code == 202
    lines = await run.tick()
    assert lines == [
        "Confirm-promotion check gate passed",
        "Copying podinfo.prod template spec to podinfo-primary.prod",
    ]
    await run.until(CanaryPhase.SUCCEEDED)


async def test_halt_holds_a_new_revision_and_approve_lets_it_start(
    loadtester: LoadTester, http: httpx.AsyncClient
) -> None:
    gate = hook("approval", "confirm-rollout", url=f"{loadtester.base}/gate/halt")
    run = _run(new_canary(webhooks=[gate]), http)
    lines = await run.release()
    assert lines == ["Halt podinfo.prod advancement waiting for approval approval"]
    assert run.status.phase is CanaryPhase.WAITING
    approve = new_canary(
        webhooks=[hook("approval", "confirm-rollout", url=f"{loadtester.base}/gate/approve")]
    )
    run.set_spec(canary_analysis=None, analysis=approve.spec.analysis)
    assert (await run.tick())[-1] == "New revision detected! Scaling up podinfo.prod"


async def test_an_opened_rollback_gate_rolls_back(
    loadtester: LoadTester, http: httpx.AsyncClient
) -> None:
    abort = hook("abort", "rollback", url=f"{loadtester.base}/rollback/check")
    run = _run(new_canary(webhooks=[abort]), http)
    await run.release()
    await run.ticks(2)
    assert run.status.phase is CanaryPhase.PROGRESSING
    opened = await loadtester.post("/rollback/open", {"name": "podinfo", "namespace": "prod"})
    assert opened.status_code == 202
    assert await run.tick() == [
        "Rollback check abort passed",
        "Rolling back podinfo.prod manual webhook invoked",
        "Canary failed! Scaling down podinfo.prod",
    ]
