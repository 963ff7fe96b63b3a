"""Issue 10, row 11: a Canary with stepWeights 1 to 50,000 was rejected, but the 339 KB list was
echoed into status.message, the Promoted condition, an Event and a log line. (Steps above 100 are
valid since, as in Flagger, so the list here ends with a step back down to 1: just as long, and
still invalid.)

Through the real operator: Canary ``greedy`` is refused (its Promoted condition says
``stepWeights`` and what was expected) with every trace of it small: status.message, the
condition's message and every Event message at most 1,024 characters, and no line of the
operator's log longer than 2,048. A good Canary next to it releases meanwhile.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from tests.hostile.cluster import canary, deployment, operated

pytestmark = pytest.mark.slow  # starts the operator process


async def test_a_huge_invalid_spec_is_refused_in_a_few_words(tmp_path: pathlib.Path) -> None:
    async with operated(tmp_path) as cluster:
        kube = cluster.kube
        greedy = canary("greedy")
        greedy["spec"]["analysis"]["stepWeights"] = [*range(1, 50_000), 1]
        assert len(json.dumps(greedy)) > 300_000
        for name in ("good", "greedy"):
            await kube.create(deployment(name))
        await kube.create(canary("good"))
        await kube.create(greedy)

        condition = await cluster.wait_condition("greedy", "stepWeights")
        event = await cluster.wait_event("greedy", "stepWeights")
        await cluster.release("good", "stefanprodan/podinfo:2.1.1")

        status = await cluster.status("greedy")
        assert "expected weights that increase" in condition["message"]
        assert len(condition["message"]) <= 1024
        assert len(status["message"]) <= 1024
        assert all(len(e["message"]) <= 1024 for e in await cluster.events("greedy"))
        assert len(event["message"]) <= 1024
        longest = max(len(line) for line in cluster.log().splitlines())
        assert longest <= 2048, f"a log line of {longest} characters"
