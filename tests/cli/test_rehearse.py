"""`serinus rehearse` on the shipped examples: the seed's logs, JSON output, --expect, bad input.

Covers: the seed's Canary with the rollback timeline prints the seed's log from "Starting canary
analysis" to "Canary failed!" (podinfo.prod throughout); with the promotion timeline it ends with
"Promotion completed!"; with the sequential judge the same rollback ends earlier; --output json;
--expect fails on another outcome; a bad timeline names the field.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"
CANARY = str(EXAMPLES / "podinfo-canary.yaml")
JUDGED = str(EXAMPLES / "podinfo-canary-judged.yaml")
ROLLBACK = str(EXAMPLES / "seed-rollback.timeline.yaml")
PROMOTION = str(EXAMPLES / "seed-promotion.timeline.yaml")

SEED_ROLLBACK_LOG = [
    "Starting canary analysis for podinfo.prod",
    "Advance podinfo.prod canary weight 5",
    "Advance podinfo.prod canary weight 10",
    "Advance podinfo.prod canary weight 15",
    "Halt podinfo.prod advancement success rate 69.17% < 99%",
    "Halt podinfo.prod advancement success rate 61.39% < 99%",
    "Halt podinfo.prod advancement success rate 55.06% < 99%",
    "Halt podinfo.prod advancement request duration 1.20s > 0.5s",
    "Halt podinfo.prod advancement request duration 1.45s > 0.5s",
    "Rolling back podinfo.prod failed checks threshold reached 5",
    "Canary failed! Scaling down podinfo.prod",
]


def _rehearse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serinus", "rehearse", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _messages(stdout: str) -> list[str]:
    lines = [line for line in stdout.splitlines() if line.startswith(" ") and "  " in line.strip()]
    return [line.split(None, 2)[2] for line in lines]


def test_the_seeds_rollback_log() -> None:
    result = _rehearse(CANARY, "--timeline", ROLLBACK, "--expect", "Failed")
    assert result.returncode == 0, result.stderr
    messages = _messages(result.stdout)
    start = messages.index("Starting canary analysis for podinfo.prod")
    assert messages[start:] == SEED_ROLLBACK_LOG
    assert "phase Failed" in result.stdout
    assert "routes primary 100 / canary 0; canary replicas 0" in result.stdout


def test_the_seeds_promotion() -> None:
    result = _rehearse(CANARY, "--timeline", PROMOTION, "--expect", "Succeeded")
    assert result.returncode == 0, result.stderr
    assert _messages(result.stdout)[-1] == "Promotion completed! Scaling down podinfo.prod"


def test_the_sequential_judge_rolls_the_seeds_fault_back_earlier() -> None:
    flagger = json.loads(_rehearse(CANARY, "--timeline", ROLLBACK, "--output", "json").stdout)
    judged = json.loads(_rehearse(JUDGED, "--timeline", ROLLBACK, "--output", "json").stdout)

    def failed_at(result: dict[str, list[dict[str, str]]]) -> str:
        return next(e["ts"] for e in result["log"] if e["msg"].startswith("Canary failed!"))

    assert judged["status"]["phase"] == flagger["status"]["phase"] == "Failed"
    assert failed_at(judged) < failed_at(flagger)
    comparisons = [m["comparison"] for m in judged["status"]["metrics"] if "comparison" in m]
    assert any(c["outcome"] == "regression" for c in comparisons)


def test_expect_fails_on_another_outcome() -> None:
    result = _rehearse(CANARY, "--timeline", ROLLBACK, "--expect", "Succeeded")
    assert result.returncode == 1
    assert "expected the release to end Succeeded, it ended Failed" in result.stderr


def test_a_bad_timeline_names_the_field(tmp_path: pathlib.Path) -> None:
    timeline = tmp_path / "t.yaml"
    timeline.write_text("at:\n  - tick: 0\n    revision: x\n  - revison: y\n")
    result = _rehearse(CANARY, "--timeline", str(timeline))
    assert result.returncode == 1
    assert "at[0].tick: expected a number >= 1, found 0" in result.stderr
    assert "at[1].revison: expected no such field" in result.stderr
