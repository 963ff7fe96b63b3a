"""`serinus backtest` against a real Prometheus holding a recorded release.

The recording (backfilled, exact): Linkerd metrics of a canary serving 2 requests/s and a primary
serving 18, both failing 0.5% of requests, until the canary starts failing 30% of its requests
200 s in. Covers: both judges replayed step by step; Flagger's thresholds roll back only after five
failed checks, the sequential judge within a step or two of the fault; a healthy stretch rolls
nothing back; the command's text and JSON output; bad arguments name the option.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from tests.support.prometheus import OpenMetrics, PrometheusServer, backfilled, data_start

from serinus.apis.canary import Canary
from serinus.rehearsal.backtest import backtest

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"
FAULT = 200
SPAN = 400


def _errors(rate: float, healthy: float, faulty: float) -> object:
    def value(offset: int) -> float:
        before = min(offset, FAULT)
        after = max(0, offset - FAULT)
        return rate * (before * healthy + after * faulty)

    return value


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    data = OpenMetrics(data_start())
    for deployment, rate, faulty in (("podinfo", 2.0, 0.30), ("podinfo-primary", 18.0, 0.005)):
        labels = {"namespace": "prod", "deployment": deployment, "direction": "inbound"}
        failures = _errors(rate, 0.005, faulty)
        data.series("response_total", {**labels, "classification": "failure"}, failures, until=SPAN)
        data.series(
            "response_total",
            {**labels, "classification": "success"},
            lambda offset, r=rate, f=failures: r * offset - f(offset),  # type: ignore[misc]
            until=SPAN,
        )
        for bound in ("50", "100", "200", "500", "1000", "+Inf"):
            share = 0.0 if bound == "50" else 1.0
            data.series(
                "response_latency_ms_bucket",
                {**labels, "le": bound},
                lambda offset, r=rate, s=share: r * s * offset,  # type: ignore[misc]
                until=SPAN,
            )
    with backfilled(tmp_path_factory.mktemp("recording"), data, end=SPAN) as server:
        yield server


def _canary() -> Canary:
    from serinus.apis.documents import load_documents

    document = next(load_documents((EXAMPLES / "podinfo-canary.yaml").read_text()))
    assert isinstance(document.model, Canary)
    return document.model


def _at(server: PrometheusServer, offset: int) -> datetime.datetime:
    start = server.time - SPAN
    return datetime.datetime.fromtimestamp(start + offset, tz=datetime.UTC)


async def test_the_sequential_judge_rolls_back_sooner_than_the_thresholds(
    recording: PrometheusServer,
) -> None:
    async with httpx.AsyncClient() as http:
        result = await backtest(
            _canary(),
            prometheus=recording.address,
            start=_at(recording, 100),
            end=_at(recording, SPAN),
            provider="linkerd",
            http=http,
        )
    assert len(result.steps) == 30
    fault = _at(recording, FAULT)
    assert result.flagger.at is not None
    assert result.sequential.at is not None
    assert result.flagger.at >= fault + datetime.timedelta(seconds=50)
    assert fault < result.sequential.at <= fault + datetime.timedelta(seconds=20)
    assert result.sequential.reason.startswith("request-success-rate: canary error rate")
    assert "failed checks threshold reached 5" in result.flagger.reason
    healthy = [s for s in result.steps if s.at <= fault]
    assert all(s.failed_checks == 0 for s in healthy)
    assert all(c.outcome != "regression" for s in healthy for c in s.comparisons.values())


async def test_a_healthy_stretch_rolls_nothing_back(recording: PrometheusServer) -> None:
    async with httpx.AsyncClient() as http:
        result = await backtest(
            _canary(),
            prometheus=recording.address,
            start=_at(recording, 60),
            end=_at(recording, FAULT),
            provider="linkerd",
            http=http,
        )
    assert result.flagger.at is None
    assert result.sequential.at is None
    rate = result.steps[-1].checks["request-success-rate"]
    assert rate.value == pytest.approx(99.5)


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serinus", "backtest", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_command_prints_both_rollbacks(recording: PrometheusServer) -> None:
    start, end = recording.time - SPAN + 100, recording.time
    common = [str(EXAMPLES / "podinfo-canary.yaml"), "--prometheus", recording.address]
    text = _command(*common, "--from", f"{start:.0f}", "--to", f"{end:.0f}")
    assert text.returncode == 0, text.stderr
    assert "Flagger's thresholds: rollback at +" in text.stdout
    assert "sequential judge: rollback at +" in text.stdout
    as_json = _command(*common, "--from", f"{start:.0f}", "--to", f"{end:.0f}", "--output", "json")
    document = json.loads(as_json.stdout)
    assert document["flagger"]["at"] > document["sequential"]["at"]


def test_bad_times_name_the_option(recording: PrometheusServer) -> None:
    result = _command(
        str(EXAMPLES / "podinfo-canary.yaml"),
        "--prometheus",
        recording.address,
        "--from",
        "yesterday",
        "--to",
        "1",
    )
    assert result.returncode == 2
    assert "--from" in result.stderr
    assert "expected RFC 3339" in result.stderr
