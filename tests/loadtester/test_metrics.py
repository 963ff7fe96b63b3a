"""hey results reaching ``/metrics`` and the log when a ``cmd`` task runs hey.

Covers:
- after a hey ``cmd`` against a target answering 200s and 500s, ``/metrics`` shows
  ``serinus_loadtester_hey_requests_total{canary,code}`` equal to what the server counted, one
  run, a requests/sec and latency quantiles; the log has one "hey finished for ..." line with the
  same counts, at info;
- a hey run where every connection is refused (hey still exits 0) counts as a failed run, its
  requests as ``code="error"``, and is logged as a warning naming the error;
- the metrics of two apps are separate (a per-app registry, nothing in the global one).
"""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY

HEY_REQUESTS = "serinus_loadtester_hey_requests_total"


def canary_labels(canary: str, **labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"canary": canary, **labels}.items()))


async def test_hey_counts_reach_metrics_and_the_log(loadtester, target, caplog):
    caplog.set_level(logging.INFO, logger="serinus.loadtester")

    await loadtester.task({"cmd": f"hey -n 40 -c 2 {target.url('/mixed')}"}, name="podinfo")
    await loadtester.wait_idle()
    samples = await loadtester.metrics()

    ok, failed = target.hits("/mixed", 200), target.hits("/mixed", 500)
    assert (ok, failed) == (30, 10)
    assert samples[(HEY_REQUESTS, canary_labels("podinfo.test", code="200"))] == ok
    assert samples[(HEY_REQUESTS, canary_labels("podinfo.test", code="500"))] == failed
    assert (HEY_REQUESTS, canary_labels("podinfo.test", code="error")) not in samples
    assert samples[("serinus_loadtester_hey_runs_total", canary_labels("podinfo.test"))] == 1
    rate = ("serinus_loadtester_hey_requests_per_second", canary_labels("podinfo.test"))
    assert samples[rate] > 0
    median = (
        "serinus_loadtester_hey_latency_seconds",
        canary_labels("podinfo.test", quantile="0.5"),
    )
    assert median in samples
    [line] = [r for r in caplog.records if r.getMessage().startswith("hey finished for")]
    assert line.levelno == logging.INFO
    assert line.getMessage().startswith(
        f"hey finished for podinfo.test: 40 requests, {ok} [200], {failed} [500]"
    )


async def test_a_run_where_every_request_failed_is_a_warning(loadtester, refused_url, caplog):
    caplog.set_level(logging.INFO, logger="serinus.loadtester")

    await loadtester.task({"cmd": f"hey -n 4 -c 1 {refused_url}"}, name="podinfo")
    await loadtester.wait_idle()
    samples = await loadtester.metrics()

    assert samples[(HEY_REQUESTS, canary_labels("podinfo.test", code="error"))] == 4
    assert samples[("serinus_loadtester_hey_failed_runs_total", canary_labels("podinfo.test"))] == 1
    # hey exited 0, so the command itself did not fail.
    assert ("serinus_loadtester_commands_failed_total", (("type", "cmd"),)) not in samples
    [line] = [r for r in caplog.records if r.getMessage().startswith("hey finished for")]
    assert line.levelno == logging.WARNING
    assert "connection refused" in line.getMessage()


async def test_each_app_has_its_own_registry(loadtester_factory):
    first = await loadtester_factory()
    second = await loadtester_factory()

    await first.task({"type": "bash", "cmd": "true"})
    samples = await second.metrics()

    assert ("serinus_loadtester_commands_started_total", (("type", "bash"),)) not in samples
    assert (
        REGISTRY.get_sample_value("serinus_loadtester_commands_started_total", {"type": "bash"})
        is None
    )
