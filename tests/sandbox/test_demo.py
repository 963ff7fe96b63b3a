"""The parts of ``serinus demo`` that work without a sandbox, against real servers.

Covers: the canary's share of a TrafficSplit, from integer weights and from v1alpha1 quantities,
and None when the canary backend is missing or every weight is zero; the demo's probe counts
every answer of a real server under the release it was sent in, 5xx and refused connections as
errors; the load tester's results read from a real load tester that ran a real ``hey``: running
while hey runs, then the requests by status code, and the difference between two snapshots; the
metric rows and the status line show each value against its bound; the summary says whether each
release ended as in the seed and what each kind of client saw.
"""

from __future__ import annotations

import asyncio
import collections
import pathlib
import time

import httpx
import pytest
from aiohttp import web
from rich.console import Console

from serinus.loadtester import app as loadtester_app
from serinus.loadtester.hey import HeyReport
from serinus.sandbox.demo import summary
from serinus.sandbox.demo.clients import Counts, LoadTesterResults, Probe
from serinus.sandbox.demo.observe import LogLine, canary_weight
from serinus.sandbox.demo.releases import Release
from serinus.sandbox.demo.story import Settings, Story
from serinus.sandbox.demo.view import LiveView, metric_lines
from serinus.sandbox.orchestration.processes import free_port


def split(*backends: tuple[str, object]) -> dict[str, object]:
    return {"spec": {"backends": [{"service": s, "weight": w} for s, w in backends]}}


def test_canary_weight_of_a_traffic_split() -> None:
    assert (
        canary_weight(split(("podinfo-primary", 95), ("podinfo-canary", 5)), "podinfo-canary") == 5
    )
    quantities = split(("podinfo-primary", "500m"), ("podinfo-canary", "500m"))
    assert canary_weight(quantities, "podinfo-canary") == 50
    assert canary_weight(split(("podinfo-primary", "100")), "podinfo-canary") is None
    assert (
        canary_weight(split(("podinfo-primary", 0), ("podinfo-canary", 0)), "podinfo-canary")
        is None
    )


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def test_probe_counts_answers_per_release() -> None:
    answers = iter([200, 500] * 1000)
    answered: collections.Counter[str] = collections.Counter()

    async def handle(request: web.Request) -> web.Response:
        status = next(answers)
        answered[str(status)] += 1
        return web.Response(status=status)

    app = web.Application()
    app.router.add_get("/", handle)
    runner, url = await serve(app)
    try:
        probe = Probe(f"{url}/", rate=50)
        probe.label = "first"
        probe.start()
        await asyncio.sleep(0.4)
        probe.label = "second"
        await asyncio.sleep(0.4)
        await probe.stop()
    finally:
        await runner.cleanup()
    first, second = probe.counts["first"], probe.counts["second"]
    assert first.requests >= 5
    assert second.requests >= 5
    assert first.codes + second.codes == answered
    assert first.errors + second.errors == answered["500"]
    assert first.requests + second.requests == answered.total()

    refused = Probe(f"http://127.0.0.1:{free_port()}/", rate=20)
    refused.start()
    await asyncio.sleep(0.3)
    await refused.stop()
    counts = refused.counts[""]
    assert counts.requests >= 2
    assert counts.errors == counts.requests
    assert set(counts.codes) == {"ConnectError"}


async def test_load_tester_results_from_a_real_hey_run(tmp_path: pathlib.Path) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    target = web.Application()
    target.router.add_get("/", ok)
    target_runner, target_url = await serve(target)
    tester = loadtester_app.create_app(loadtester_app.Settings(state_file=tmp_path / "gates"))
    tester_runner, tester_url = await serve(tester)
    try:
        results = LoadTesterResults(f"{tester_url}/metrics", canary="podinfo.prod")
        before = await results.snapshot()
        assert before.codes == {}
        assert not before.running
        payload = {
            "name": "podinfo",
            "namespace": "prod",
            "phase": "Progressing",
            "metadata": {"cmd": f"hey -z 1s -q 20 -c 1 {target_url}/"},
        }
        async with httpx.AsyncClient(trust_env=False) as client:
            posted = await client.post(f"{tester_url}/", json=payload)
        assert posted.status_code == 202
        assert (await results.snapshot()).running
        deadline = time.monotonic() + 20
        while (after := await results.snapshot()).running:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
    finally:
        await tester_runner.cleanup()
        await target_runner.cleanup()
    counts = after.minus(before)
    assert counts.requests >= 10
    assert counts.errors == 0
    assert counts.codes == {"200": counts.requests}


def test_metric_rows_show_values_against_bounds() -> None:
    status = {
        "metrics": [
            {"name": "request-success-rate", "value": 19.6512, "min": 99.0, "verdict": "fail"},
            {"name": "request-duration", "value": 1974.2, "max": 500.0, "verdict": "fail"},
            {"name": "request-duration", "verdict": "nodata"},
        ]
    }
    assert metric_lines(status) == [
        ("request-success-rate", "19.65%", ">= 99%", "fail"),
        ("request-duration", "1974 ms", "<= 500 ms", "fail"),
        ("request-duration", "-", "-", "nodata"),
    ]


def test_summary_of_both_releases() -> None:
    promoted = Release("2.1.1", "2.1.0", "Succeeded", outcome="Succeeded", started=1.0, ended=125.0)
    promoted.probe = Counts(requests=2480)
    promoted.load_test = Counts(requests=2400)
    promoted.served = {"success": 4880}
    promoted.weights = [0, 5, 10, 0]
    rolled = Release("2.1.2", "2.1.1", "Failed", outcome="Succeeded", started=1.0, ended=47.0)
    rolled.probe = Counts(requests=900, errors=9)
    rolled.load_test, rolled.load_test_running = Counts(), True
    rolled.served = {"success": 1700, "failure": 380}
    report = HeyReport(60.0, 0.01, 0.0, 0.002, 25.0, {}, {500: 380}, {})
    rolled.injections = [("hey -z 1m -c 5 -q 5 http://podinfo-canary:9898/status/500", report)]

    lines = summary.lines([promoted, rolled], "stefanprodan/podinfo:2.1.1")
    text = "\n".join(lines)
    assert "podinfo 2.1.0 -> 2.1.1: Succeeded (as the seed) in 2m04s" in text
    assert "podinfo 2.1.1 -> 2.1.2: Succeeded (NOT as the seed) in 46s" in text
    assert "traffic weights: 0 5 10 0" in text
    assert "podinfo's users: 0 errors in 2480 requests (100.00% ok)" in text
    assert "podinfo's users: 9 errors in 900 requests (99.00% ok)" in text
    assert "load test (hey): hey still running" in text
    assert "requests served by the mesh: 2080 (380 failed)" in text
    assert "faults injected: /status/500: 380 [500]" in text
    assert lines[-1] == "  podinfo-primary runs stefanprodan/podinfo:2.1.1"


@pytest.mark.parametrize("seconds", [0.4, 59.6, 61, 125])
def test_minutes(seconds: float) -> None:
    expected = {0.4: "0s", 59.6: "1m00s", 61: "1m01s", 125: "2m05s"}[seconds]
    assert summary.minutes(seconds) == expected


@pytest.mark.parametrize(("width", "height"), [(80, 24), (160, 50)])
def test_the_live_screen_fits_the_terminal(tmp_path: pathlib.Path, width: int, height: int) -> None:
    console = Console(width=width, height=height, record=True, force_terminal=True)
    story = Story(None, Settings(tmp_path), say=lambda _: None, note=lambda _: None)  # type: ignore[arg-type]
    story.observer.canary = {
        "spec": {"canaryAnalysis": {"threshold": 5}},
        "status": {
            "phase": "Progressing",
            "canaryWeight": 15,
            "failedChecks": 2,
            "metrics": [
                {"name": "request-success-rate", "value": 19.3, "min": 99.0, "verdict": "fail"},
                {"name": "request-duration", "value": 4.0, "max": 500.0, "verdict": "pass"},
            ],
        },
    }
    story.observer.log = [
        LogLine("", "info", f"Advance podinfo.prod canary weight {n}") for n in range(40)
    ]
    view = LiveView([story], console, title="serinus demo: " + "a long title " * 20)
    for step in range(8):
        view.steps.append(f"step {step} " + "with a long description " * 10)
    view.notes += ["a note " * 30, "another note " * 30]
    console.print(view.render())
    shown = console.export_text().splitlines()
    assert len(shown) <= height
    assert "Advance podinfo.prod canary weight 39" in shown[-2]
    assert any("failed checks 2/5" in line for line in shown)
    assert any("19.30%" in line and ">= 99%" in line and "fail" in line for line in shown)
    assert any(line.startswith("  now   step 7") for line in shown)
