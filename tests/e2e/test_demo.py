"""The seed's story end to end: ``serinus demo`` in a real sandbox, checked as a user would.

The sandbox runs everything for real (API server, pods as processes, the mesh proxy, Prometheus,
the operator, the load tester's hey, the seed's fault injection); the demo plays both releases
at a 5 s interval while kubectl watches (5 s windows hold enough samples for the first halt to
come at weight 15, as in the seed, even on a busy machine). Covers:

- the operator's log has the seed's lines in order for both releases: for 2.1.1 the analysis
  start, every step of 5 up to 100, the copy to the primary and "Promotion completed!"; for 2.1.2
  the analysis start, weights 5, 10 and 15, then halts that start with the success rate and end
  with the request duration (in the seed's words, numbers aside; a latency spike of the machine
  may add a duration halt among the first), "Rolling back podinfo.prod failed checks threshold
  reached 5" and "Canary failed! Scaling down podinfo.prod", and no step past 15;
- the Canary's phases seen by ``kubectl get canary -w`` end Succeeded, then Failed;
- the primary runs 2.1.1 at the end, and answers as 2.1.1 through the mesh;
- the TrafficSplit weights seen by ``kubectl get trafficsplits -w`` follow stepWeight: 0, 5, ...,
  100, back to 0 at the promotion; then 5, 10, 15 and 0 at the rollback;
- the load generator's hey run during the 2.1.1 promotion got a 2xx for every request, across
  every weight change, the promotion and the scale-down, and the demo's summary says so;
- ``serinus backtest`` replays the seed's Canary over what the sandbox's Prometheus recorded, as
  the README shows, and its sequential judge finds the 2.1.2 regression.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import re

import pytest

from tests.e2e.support import Sandbox, json_stream, sandbox, serinus, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]

REVISION = "New revision detected! Scaling up podinfo.prod"
SUCCESS_RATE = re.compile(r"^Halt podinfo\.prod advancement success rate \d+\.\d+% < 99%$")
DURATION = re.compile(r"^Halt podinfo\.prod advancement request duration \d+\.\d+s > 0\.5s$")


def in_order(lines: list[str], expected: list[str]) -> list[str]:
    """The expected lines missing from ``lines`` as an ordered subsequence (empty: all there)."""
    position = 0
    for index, wanted in enumerate(expected):
        try:
            position = lines.index(wanted, position) + 1
        except ValueError:
            return expected[index:]
    return []


def test_the_seed_story_plays_in_the_sandbox(tmp_path: pathlib.Path) -> None:
    with sandbox(tmp_path / "sandbox") as box:
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        phases = box.watch("-n", "prod", "get", "canary")
        splits = box.watch("-n", "prod", "get", "trafficsplits", "-o", "json")
        try:
            played = box.serinus("demo", "--interval", "5s", timeout=420)
        finally:
            phase_rows = stop(phases)
            split_docs = stop(splits)
        assert played.returncode == 0, played.stdout[-3000:] + played.stderr[-3000:]
        messages = [
            line["msg"] for line in box.json_log("deployment/serinus", "-n", "serinus-system")
        ]
        check_operator_log(messages)
        check_phases(phase_rows)
        check_weights(split_docs)
        check_primary(box)
        check_load_test(box, played.stdout)
        check_backtest(box, started)


def check_operator_log(messages: list[str]) -> None:
    starts = [i for i, msg in enumerate(messages) if msg == REVISION]
    assert len(starts) == 2, f"expected two releases, saw {len(starts)}: {messages}"
    promotion, rollback = messages[starts[0] : starts[1]], messages[starts[1] :]
    expected = [
        "Starting canary analysis for podinfo.prod",
        *[f"Advance podinfo.prod canary weight {w}" for w in range(5, 101, 5)],
        "Copying podinfo.prod template spec to podinfo-primary.prod",
        "Routing all traffic to primary",
        "Promotion completed! Scaling down podinfo.prod",
    ]
    assert in_order(promotion, expected) == [], promotion
    assert in_order(rollback, expected[:4]) == [], rollback

    # After weight 15: success-rate halts, then duration halts, then the rollback, as the seed.
    kinds = []
    for msg in rollback[rollback.index("Advance podinfo.prod canary weight 15") + 1 :]:
        kind = (
            "success rate" if SUCCESS_RATE.match(msg)
            else "duration" if DURATION.match(msg)
            else msg if msg.startswith(("Rolling back", "Canary failed!", "Advance"))
            else None
        )  # fmt: skip
        if kind is not None and (not kinds or kinds[-1] != kind):
            kinds.append(kind)
    rolled_back = [
        "Rolling back podinfo.prod failed checks threshold reached 5",
        "Canary failed! Scaling down podinfo.prod",
    ]
    halts = kinds[:-2]
    assert kinds[-2:] == rolled_back, (kinds, rollback)
    assert halts[:1] == ["success rate"], (kinds, rollback)
    assert halts[-1:] == ["duration"], (kinds, rollback)
    assert set(halts) == {"success rate", "duration"}, (kinds, rollback)


def check_phases(rows: str) -> None:
    header, *lines = [line.split() for line in rows.splitlines() if line.strip()]
    assert header[:3] == ["NAME", "STATUS", "WEIGHT"], header
    seen = []
    for row in lines:
        if len(row) >= 3 and row[0] == "podinfo" and (not seen or seen[-1] != row[1]):
            seen.append(row[1])
    assert "Succeeded" in seen, seen
    assert seen[-1] == "Failed", seen
    assert seen.index("Succeeded") < len(seen) - 1, seen


def check_weights(documents: str) -> None:
    weights: list[int] = []
    for split in json_stream(documents):
        backends = {b["service"]: int(b["weight"]) for b in split["spec"]["backends"]}
        weight = backends["podinfo-canary"] * 100 // sum(backends.values())
        if not weights or weights[-1] != weight:
            weights.append(weight)
    assert weights == [*range(0, 101, 5), 0, 5, 10, 15, 0], weights


def check_primary(box: Sandbox) -> None:
    image = box.kubectl(
        "-n", "prod", "get", "deploy", "podinfo-primary", "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    )  # fmt: skip
    assert image == "stefanprodan/podinfo:2.1.1"
    answered = box.serinus("sandbox", "shell", "--", "curl", "-s", "http://podinfo:9898/version")
    assert '"version": "2.1.1"' in answered.stdout or '"version":"2.1.1"' in answered.stdout


def check_load_test(box: Sandbox, demo_output: str) -> None:
    finished = [
        line["msg"]
        for line in box.json_log("deployment/load-tester", "-n", "prod")
        if line["msg"].startswith("hey finished for podinfo.prod:")
    ]
    assert finished, "the load test's hey never finished"
    first = re.match(
        r"hey finished for podinfo\.prod: (\d+) requests, (\d+) \[200\], ", finished[0]
    )
    assert first is not None, finished[0]
    assert int(first.group(1)) == int(first.group(2)) >= 1000, finished[0]
    assert finished[0].endswith("errors: none"), finished[0]
    summary = demo_output[demo_output.index("Summary") :]
    promotion = summary[: summary.index("podinfo 2.1.1 -> 2.1.2")]
    assert re.search(r"load test \(hey\): 0 errors in \d+ requests \(100\.00% ok\)", promotion)
    assert re.search(r"podinfo's users: 0 errors in \d+ requests \(100\.00% ok\)", promotion)


def check_backtest(box: Sandbox, started: str) -> None:
    details = json.loads((box.directory / "state.json").read_text())["details"]
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    canary = pathlib.Path(__file__).parents[2] / "examples" / "podinfo-canary.yaml"
    replayed = serinus(
        "backtest", str(canary), "--prometheus", details["prometheus"], "--from", started,
        "--to", now,
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert re.search(r"^sequential judge: rollback at ", replayed.stdout, re.MULTILINE), (
        replayed.stdout
    )
