"""Builders and a tick driver for the state-machine tests.

``Run`` holds an in-memory world for one Canary and plays ticks on its virtual clock; each
``await run.tick()`` returns the log lines that tick wrote, so a scenario reads like the operator's
log. Canaries are built with ``new_canary(**analysis)``: a v1beta1 Canary for ``podinfo`` in
``prod`` with the given analysis fields.
"""

from __future__ import annotations

import logging
from typing import Any

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.controller.advance import advance
from serinus.controller.memory import MemoryWorld
from serinus.routers import registry as routers


def new_canary(*, spec: dict[str, Any] | None = None, **analysis: Any) -> Canary:
    fields: dict[str, Any] = {"interval": "10s", "threshold": 5, "stepWeight": 10}
    fields.update(analysis)
    body: dict[str, Any] = {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
        "service": {"port": 9898},
        "analysis": {k: v for k, v in fields.items() if v is not None},
    }
    body.update(spec or {})
    return Canary.model_validate(
        {
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "prod"},
            "spec": body,
        }
    )


def metric(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "interval": "1m", **fields}


def hook(name: str, hook_type: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "type": hook_type, "url": f"http://hooks.prod/{name}", **fields}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class Run:
    """One Canary in an in-memory world, advanced tick by tick."""

    def __init__(self, canary: Canary, *, provider: str | None = None) -> None:
        self.canary = canary
        self.world = MemoryWorld.for_canary(canary)
        if provider is not None:  # play that provider's router: what it can do, its name
            self.world.provider = provider
            self.world.router.can = routers.capabilities_for(provider)(canary)
        self.log: list[str] = []

    async def tick(self, seconds: float = 10) -> list[str]:
        handler = _Lines()
        logger = logging.getLogger("serinus.controller")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            stored = self.world.store.stored(self.canary.namespace, self.canary.name)
            await advance(self.world.ports, stored)
        finally:
            logger.removeHandler(handler)
        self.world.clock.advance(seconds)
        self.log.extend(handler.lines)
        return handler.lines

    async def ticks(self, count: int) -> list[str]:
        lines: list[str] = []
        for _ in range(count):
            lines += await self.tick()
        return lines

    async def until(self, phase: CanaryPhase, *, limit: int = 100) -> list[str]:
        lines: list[str] = []
        for _ in range(limit):
            lines += await self.tick()
            if self.status.phase is phase:
                return lines
        raise AssertionError(f"never reached {phase}; at {self.status.phase}: {lines[-5:]}")

    async def initialized(self) -> None:
        await self.tick()
        assert self.status.phase is CanaryPhase.INITIALIZED

    async def release(self, revision: str = "rev-2") -> list[str]:
        """Initialize (if needed), then change the target and play the run-start tick."""
        if self.status.phase is None:
            await self.initialized()
        self.world.target.spec_hash = revision
        return await self.tick()

    @property
    def status(self) -> CanaryStatus:
        return self.world.store.status(self.canary.namespace, self.canary.name)

    @property
    def routes(self) -> tuple[int, int]:
        return self.world.router.routes.primary, self.world.router.routes.canary

    def set_spec(self, **changes: Any) -> None:
        """Change the stored Canary's spec (as a kubectl edit would)."""
        key = (self.canary.namespace, self.canary.name)
        stored = self.world.store.canaries[key]
        self.world.store.canaries[key] = stored.model_copy(
            update={"spec": stored.spec.model_copy(update=changes)}
        )
