"""What a tick tells people: one message, cleaned once, for every listener.

Covers (issue 10, rows 7 and 11): a message naming a URL with ``user:password@`` and ``?token=``
reaches the log, the Kubernetes Event, the ``event`` webhooks and the chat alert with both
replaced by ``***`` and the host kept; a message of 300,000 characters reaches all of them cut
to 1,024.
"""

from __future__ import annotations

import logging

import pytest

from serinus.apis.analysis import Severity
from serinus.controller.memory import MemoryWorld
from serinus.controller.tick import Tick
from tests.controller.support import hook, new_canary

LEAKY = "webhook http://ops:hunter2@gate.prod/ok?token=t0k3n unreachable: connection refused"
SAFE = "webhook http://***@gate.prod/ok?token=*** unreachable: connection refused"


def _tick() -> tuple[Tick, MemoryWorld]:
    canary = new_canary(webhooks=[hook("tell", "event")])
    world = MemoryWorld.for_canary(canary)
    return Tick(world.ports, canary), world


async def test_credentials_never_reach_any_listener(caplog: pytest.LogCaptureFixture) -> None:
    tick, world = _tick()
    with caplog.at_level(logging.INFO, logger="serinus.controller"):
        await tick.warning(LEAKY)
        await tick.alert(LEAKY, severity=Severity.ERROR)
    assert [r.getMessage() for r in caplog.records] == [SAFE]
    assert [e.message for e in world.events.events] == [SAFE]
    assert [c.event for c in world.webhooks.calls] == [SAFE]
    assert [a.message for a in world.notifier.alerts] == [SAFE]


async def test_a_huge_message_is_cut_for_every_listener(caplog: pytest.LogCaptureFixture) -> None:
    tick, world = _tick()
    with caplog.at_level(logging.INFO, logger="serinus.controller"):
        await tick.info("stepWeights " + "7, " * 100_000)
    told = [
        caplog.records[0].getMessage(),
        world.events.events[0].message,
        world.webhooks.calls[0].event,
    ]
    assert all(len(message) == 1024 for message in told)
    assert all(message.startswith("stepWeights 7, 7, ") for message in told)
