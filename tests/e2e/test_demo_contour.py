"""``serinus demo --mesh-provider contour``: the seed's story through Contour's router, for real.

The sandbox's operator is switched to ``--mesh-provider=contour`` by the demo; traffic moves
through ``HTTPProxy prod/podinfo``, which the sandbox's proxy serves at the apex Service, and the
seed's built-in metrics are read from Envoy's cluster statistics with Flagger's contour queries.
Covers, at a 5 s interval while kubectl watches:

- the demo ends with both outcomes of the seed (2.1.1 promoted, 2.1.2 rolled back) and says it
  ran with Contour;
- the operator ran with ``--mesh-provider=contour``: its log creates the HTTPProxy, advances 2.1.1
  step by step to promotion, and rolls 2.1.2 back after halts on the success rate read from
  Envoy's statistics;
- the HTTPProxy weights seen by ``kubectl get httpproxies -w`` follow stepWeight: 0, 5, ..., 100,
  back to 0 at the promotion; then up to at least 15 and back to 0 at the rollback;
- no TrafficSplit was written;
- Prometheus holds Envoy's series for the canary's cluster (``prod_podinfo-canary_9898``).
"""

from __future__ import annotations

import json
import pathlib
import re
import urllib.parse
import urllib.request

import pytest

from tests.e2e.support import json_stream, sandbox, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]

SUCCESS_RATE = re.compile(r"^Halt podinfo\.prod advancement success rate \d+\.\d+% < 99%$")


def test_the_seed_story_plays_through_contour(tmp_path: pathlib.Path) -> None:
    with sandbox(tmp_path / "sandbox") as box:
        proxies = box.watch("-n", "prod", "get", "httpproxies", "-o", "json")
        try:
            played = box.serinus(
                "demo", "--mesh-provider", "contour", "--interval", "5s", timeout=420
            )
        finally:
            proxy_docs = stop(proxies)
        output = played.stdout + played.stderr
        assert played.returncode == 0, output[-4000:]
        assert "--mesh-provider=contour" in played.stdout
        args = box.kubectl(
            "-n", "serinus-system", "get", "deploy", "serinus", "-o",
            "jsonpath={.spec.template.spec.containers[0].args}",
        )  # fmt: skip
        assert "--mesh-provider=contour" in json.loads(args)
        messages = [
            line["msg"] for line in box.json_log("deployment/serinus", "-n", "serinus-system")
        ]
        assert "HTTPProxy podinfo.prod created" in messages
        assert "Promotion completed! Scaling down podinfo.prod" in messages
        assert any(SUCCESS_RATE.match(msg) for msg in messages), messages[-40:]
        assert "Canary failed! Scaling down podinfo.prod" in messages
        check_weights(proxy_docs)
        assert box.kubectl("-n", "prod", "get", "trafficsplits", "-o", "name").strip() == ""
        details = json.loads((box.directory / "state.json").read_text())["details"]
        check_envoy_series(details["prometheus"])


def check_weights(documents: str) -> None:
    weights: list[int] = []
    for proxy in json_stream(documents):
        services = proxy["spec"]["routes"][0]["services"]
        by_name = {s["name"]: int(s.get("weight") or 0) for s in services}
        weight = by_name["podinfo-canary"] * 100 // sum(by_name.values())
        if not weights or weights[-1] != weight:
            weights.append(weight)
    promotion = [*range(0, 101, 5), 0]
    assert weights[: len(promotion)] == promotion, weights
    rollback = weights[len(promotion) :]
    assert rollback[:3] == [5, 10, 15], weights
    assert rollback[-1] == 0, weights


def check_envoy_series(prometheus: str) -> None:
    query = 'sum(envoy_cluster_upstream_rq{envoy_cluster_name="prod_podinfo-canary_9898"})'
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as answer:
        result = json.loads(answer.read())["data"]["result"]
    assert result, "no Envoy series for the canary's cluster in Prometheus"
    assert float(result[0]["value"][1]) > 0
