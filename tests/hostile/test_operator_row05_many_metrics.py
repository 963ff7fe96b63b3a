"""Issue 10, row 5: a Canary with 10,000 metrics made every status write fail (Request Entity Too
Large); it stayed Progressing with 0 failed checks, so it could never fail or roll back.

Through the real operator: Canary ``many`` has 10,000 metrics, each an inline query that uses a
template value the Canary does not give, so every metric errs on every step (without a network
round trip per metric, which keeps the test short). Its release must
end the way any failing release ends: failed checks counted, then rolled back to phase Failed,
with the status written every step (at most 50 metrics listed and one entry counting the rest)
and a bounded number of Events (not one per metric per step). A good Canary next to it releases
meanwhile.
"""

from __future__ import annotations

import pathlib

import pytest

from tests.hostile.cluster import canary, deployment, operated
from tests.operator.support import eventually, set_image

pytestmark = pytest.mark.slow  # starts the operator process

METRICS = 10_000


async def test_a_canary_with_ten_thousand_metrics_fails_and_rolls_back(
    tmp_path: pathlib.Path,
) -> None:
    async with operated(tmp_path) as cluster:
        kube = cluster.kube
        manifest = canary("many", threshold=2)
        manifest["spec"]["analysis"]["metrics"] = [
            {"name": f"m{i}", "query": "vector({{ nope }})", "thresholdRange": {"min": 1}}
            for i in range(METRICS)
        ]
        for name in ("good", "many"):
            await kube.create(deployment(name))
        await kube.create(canary("good"))
        await kube.create(manifest)
        await cluster.wait_phase("many", "Initialized")

        await set_image(kube, "many", "stefanprodan/podinfo:2.1.1")
        counted = await eventually(
            lambda: cluster.status("many"),
            lambda status: status.get("failedChecks", 0) >= 1,
            what="a failed check of Canary many counted in its status",
            within=90,
        )
        listed = counted["metrics"]
        assert len(listed) == 51
        assert listed[-1]["name"] == "(9,950 more)"
        assert listed[-1]["verdict"] == "error"
        await cluster.release("good", "stefanprodan/podinfo:2.1.1")

        failed = await cluster.wait_phase("many", "Failed", within=120)
        assert failed["canaryWeight"] == 0
        condition = failed["conditions"][0]
        assert (condition["type"], condition["status"]) == ("Promoted", "False")
        assert len(await cluster.events("many")) < 100
        assert "Traceback" not in cluster.log()
