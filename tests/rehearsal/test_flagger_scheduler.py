"""Flagger's scheduler tests (``pkg/controller/scheduler_*_test.go``), replayed with ``serinus
rehearse``: each behaviour those tests assert, tick by tick, from the JSON output's ``steps``.

Flagger's tests advance the controller one call at a time and check the phase, the canary weight
and the routes after each call; a rehearsal does the same on a virtual clock, so the sequences are
compared as Flagger's tests write them (the tick that detects a new revision is the first one
listed). The Canaries are Flagger's test fixtures (podinfo in ``default``, threshold 10,
stepWeight 10, maxWeight 50, one-minute interval) with the field each test changes. Behaviours:

1. initialization scales the target to zero; a new revision scales it up (DeploymentNewRevision);
2. failing checks roll back to 100/0, Failed, failedChecks and iterations 0 (DeploymentRollback);
3. ``skipAnalysis`` promotes on the tick after detection (DeploymentSkipAnalysis);
4. stepWeight 100 with stepWeightPromotion 50: 0, 100, promoting 100, 50, finalising 0
   (DeploymentAnalysisPhases);
5. blue/green with one iteration: Progressing x3, Promoting, Finalising, Succeeded
   (DeploymentBlueGreenAnalysisPhases);
6. a new revision during the analysis resets the routes to 100/0 (DeploymentNewRevisionReset);
7. promotion: Progressing, Promoting, Finalising at 100/0 with the new spec, Succeeded
   (DeploymentPromotion);
8. mirroring: the first step mirrors at 100/0, the next routes 90/10 unmirrored
   (DeploymentMirroring);
9. A/B testing: 0/100 for the iterations, then Finalising and Succeeded (DeploymentABTesting);
10. stepWeight 50 to maxWeight 100: primary 100, 50, 0 (ServicePromotionMaxWeight);
11. stepWeights [1, 2, 10, 80] and [1, 2, 10, 200]: primary 100, 99, 98, 90, then 20 or 0
    (ServicePromotionWithWeightsHappyCase, ...Overflow);
12. stepWeight 20 to maxWeight 50: Flagger's test expects primary 100, 80, 60, 40; serinus stops at
    50/50, its documented deliberate difference, which ``serinus validate`` prints as a note
    (ServicePromotion).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from serinus.cli.main import main

Step = dict[str, Any]
METRICS = [
    {"name": "request-success-rate", "threshold": 99, "interval": "1m"},
    {"name": "request-duration", "thresholdRange": {"max": 500000}, "interval": "1m"},
]


def fixture(provider: str = "istio", **analysis: Any) -> dict[str, Any]:
    """Flagger's ``newDeploymentTestCanary`` with the analysis fields a test changes."""
    base = {"threshold": 10, "stepWeight": 10, "maxWeight": 50, "interval": "1m"}
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": {"name": "podinfo", "namespace": "default"},
        "spec": {
            "provider": provider,
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {**base, "metrics": METRICS, **analysis},
        },
    }


def rehearse(
    tmp_path: pathlib.Path, canary: dict[str, Any], *at: dict[str, Any], ticks: int = 20
) -> dict[str, Any]:
    (tmp_path / "canary.yaml").write_text(yaml.safe_dump(canary))
    timeline = {"ticks": ticks, "at": [{"tick": 2, "revision": "podinfo:v2"}, *at]}
    (tmp_path / "timeline.yaml").write_text(yaml.safe_dump(timeline))
    args = [
        "rehearse",
        str(tmp_path / "canary.yaml"),
        "--timeline",
        str(tmp_path / "timeline.yaml"),
    ]
    result = CliRunner().invoke(main, [*args, "--output", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def after_detection(played: dict[str, Any]) -> list[Step]:
    """The steps from the tick that detects the new revision on."""
    return [step for step in played["steps"] if step["tick"] >= 2]


def primary_weights(steps: list[Step]) -> list[int]:
    """The primary's weight at each tick of the analysis (Progressing), as Flagger's test reads."""
    return [s["routes"]["primary"] for s in steps if s["phase"] == "Progressing"]


def test_initialization_scales_the_target_to_zero_and_a_new_revision_scales_it_up(
    tmp_path: pathlib.Path,
) -> None:
    played = rehearse(tmp_path, fixture(), ticks=2)
    first, detected = played["steps"]
    assert (first["phase"], first["canaryReplicas"]) == ("Initialized", 0)
    assert detected["phase"] == "Progressing"
    assert detected["canaryReplicas"] > 0


def test_failing_checks_roll_back_with_the_counters_reset(tmp_path: pathlib.Path) -> None:
    failing = {"tick": 3, "metrics": {"request-success-rate": 50}}
    played = rehearse(tmp_path, fixture(), failing, ticks=30)
    status = played["status"]
    assert (status["phase"], status["failedChecks"], status["iterations"]) == ("Failed", 0, 0)
    assert played["routes"] == {"primary": 100, "canary": 0, "mirrored": False}
    assert played["canaryReplicas"] == 0
    messages = [line["msg"] for line in played["log"]]
    assert "Rolling back podinfo.default failed checks threshold reached 10" in messages
    assert messages[-1] == "Canary failed! Scaling down podinfo.default"


def test_skip_analysis_promotes_on_the_tick_after_detection(tmp_path: pathlib.Path) -> None:
    canary = fixture()
    canary["spec"]["skipAnalysis"] = True
    detected, advanced = after_detection(rehearse(tmp_path, canary))[:2]
    assert detected["phase"] == "Progressing"
    assert advanced["phase"] == "Succeeded"


def test_step_weight_promotion_phases(tmp_path: pathlib.Path) -> None:
    canary = fixture(stepWeight=100, stepWeightPromotion=50)
    del canary["spec"]["analysis"]["maxWeight"]
    steps = after_detection(rehearse(tmp_path, canary))
    assert [(s["phase"], s["canaryWeight"]) for s in steps] == [
        ("Progressing", 0),
        ("Progressing", 100),
        ("Promoting", 100),
        ("Promoting", 50),
        ("Finalising", 0),
        ("Succeeded", 0),
    ]


def test_blue_green_phases(tmp_path: pathlib.Path) -> None:
    canary = fixture("kubernetes", iterations=1)
    for field in ("stepWeight", "maxWeight"):
        del canary["spec"]["analysis"][field]
    steps = after_detection(rehearse(tmp_path, canary))
    assert [s["phase"] for s in steps] == [
        "Progressing",
        "Progressing",
        "Progressing",
        "Promoting",
        "Finalising",
        "Succeeded",
    ]


def test_a_new_revision_during_the_analysis_resets_the_routes(tmp_path: pathlib.Path) -> None:
    played = rehearse(tmp_path, fixture(), {"tick": 5, "revision": "podinfo:v3"}, ticks=5)
    by_tick = {s["tick"]: s["routes"] for s in played["steps"]}
    assert (by_tick[3]["primary"], by_tick[3]["canary"]) == (90, 10)
    assert (by_tick[5]["primary"], by_tick[5]["canary"]) == (100, 0)


def test_promotion_phases_and_the_promoted_spec(tmp_path: pathlib.Path) -> None:
    played = rehearse(tmp_path, fixture())
    steps = after_detection(played)
    phases = [s["phase"] for s in steps]
    assert phases[-3:] == ["Promoting", "Finalising", "Succeeded"]
    assert set(phases[:-3]) == {"Progressing"}
    finalising = steps[-2]["routes"]
    assert (finalising["primary"], finalising["canary"], finalising["mirrored"]) == (100, 0, False)
    assert played["status"]["lastPromotedSpec"] == "podinfo:v2"


def test_mirroring_mirrors_the_first_step_then_shifts(tmp_path: pathlib.Path) -> None:
    steps = after_detection(rehearse(tmp_path, fixture(mirror=True)))
    routes = [s["routes"] for s in steps if s["phase"] == "Progressing"]
    assert routes[1] == {"primary": 100, "canary": 0, "mirrored": True}
    assert routes[2] == {"primary": 90, "canary": 10, "mirrored": False}


def test_ab_testing_routes_everything_matched_to_the_canary(tmp_path: pathlib.Path) -> None:
    match = [{"headers": {"x-user-type": {"exact": "test"}}}]
    canary = fixture(iterations=10, match=match)
    for field in ("stepWeight", "maxWeight"):
        del canary["spec"]["analysis"][field]
    played = rehearse(tmp_path, canary, ticks=30)
    steps = after_detection(played)
    analysed = [(s["routes"]["primary"], s["routes"]["canary"]) for s in steps[1:]]
    assert analysed[:10] == [(0, 100)] * 10
    assert [s["phase"] for s in steps[-3:]] == ["Promoting", "Finalising", "Succeeded"]
    assert played["routes"] == {"primary": 100, "canary": 0, "mirrored": False}


@pytest.mark.parametrize(
    ("analysis", "expected"),
    [
        ({"stepWeight": 50, "maxWeight": 100}, [100, 50, 0]),
        ({"stepWeights": [1, 2, 10, 80]}, [100, 99, 98, 90, 20]),
        ({"stepWeights": [1, 2, 10, 200]}, [100, 99, 98, 90, 0]),
    ],
    ids=["max-weight-100", "step-weights", "step-weights-overflow"],
)
def test_service_promotion_weights(
    tmp_path: pathlib.Path, analysis: dict[str, Any], expected: list[int]
) -> None:
    canary = fixture(**analysis)
    if "stepWeights" in analysis:
        for field in ("stepWeight", "maxWeight"):
            del canary["spec"]["analysis"][field]
    played = rehearse(tmp_path, canary)
    assert primary_weights(after_detection(played)) == expected
    assert played["status"]["phase"] == "Succeeded"


def test_max_weight_caps_the_last_step_as_documented(tmp_path: pathlib.Path) -> None:
    """Flagger's ServicePromotion expects 100, 80, 60, 40: serinus' deliberate difference."""
    canary = fixture(stepWeight=20, maxWeight=50)
    played = rehearse(tmp_path, canary)
    assert primary_weights(after_detection(played)) == [100, 80, 60, 50]
    checked = CliRunner().invoke(main, ["validate", str(tmp_path / "canary.yaml")])
    assert checked.exit_code == 0, checked.output
    assert "note: " in checked.output
    assert "maxWeight" in checked.output
