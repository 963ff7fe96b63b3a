"""Issue 10, row 12: every Event of a Canary with a 253-character name was rejected (the Event's
name was longer than 253), and only logged.

Through the real operator: a Canary whose name is the longest a name may be (253 characters)
initializes and releases its target, and its Events (initialization, each step, promotion) are
all in the API, on that Canary, with valid names.
"""

from __future__ import annotations

import pathlib

import pytest

from tests.hostile.cluster import canary, deployment, operated
from tests.operator.support import eventually

pytestmark = pytest.mark.slow  # starts the operator process

LONG = ".".join(["release-of-podinfo-" + "x" * 43] * 4) + ".z"


async def test_a_canary_with_the_longest_name_gets_its_events(tmp_path: pathlib.Path) -> None:
    assert len(LONG) == 253
    async with operated(tmp_path) as cluster:
        await cluster.kube.create(deployment("podinfo"))
        await cluster.kube.create(canary(LONG, target="podinfo"))
        await cluster.wait_phase(LONG, "Initialized")
        await cluster.kube.patch(
            "apps/v1",
            "Deployment",
            "podinfo",
            "prod",
            {"spec": {"template": {"metadata": {"annotations": {"rev": "2"}}}}},
        )
        await cluster.wait_phase(LONG, "Succeeded", within=60)
        events = await eventually(
            lambda: cluster.events(LONG),
            lambda found: any("Promotion completed!" in e["message"] for e in found),
            what="the promotion Event of the long-named Canary",
        )
        messages = [e["message"] for e in events]
        assert any(m.startswith("Initialization done!") for m in messages), messages
        assert any(m.startswith("Advance ") for m in messages), messages
        assert all(len(e["metadata"]["name"]) <= 253 for e in events)
        assert "Event could not be recorded" not in cluster.log()
