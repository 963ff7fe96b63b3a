"""The fields under an alert, in Flagger's wording and order.

Covers:
- Cluster comes first on every alert when the operator has a cluster name, and is absent otherwise;
- detailed alerts add Target, Failed checks threshold, Progress deadline and Traffic routing;
- Traffic routing for step weight, step weights, A/B testing and blue/green, with the effective
  maximum weight.
"""

from __future__ import annotations

import pytest

from serinus.notifiers.base import Field
from serinus.notifiers.fields import alert_fields


def test_cluster_only_without_details(make_canary):
    assert alert_fields(make_canary(), cluster="prod-eu", details=False) == (
        Field("Cluster", "prod-eu"),
    )
    assert alert_fields(make_canary(), cluster="", details=False) == ()


def test_details(make_canary):
    canary = make_canary(stepWeight=10, maxWeight=50)
    canary.spec.progress_deadline_seconds = 120
    assert alert_fields(canary, cluster="prod-eu", details=True) == (
        Field("Cluster", "prod-eu"),
        Field("Target", "Deployment/podinfo.test"),
        Field("Failed checks threshold", "5"),
        Field("Progress deadline", "120s"),
        Field("Traffic routing", "Weight step: 10 max: 50"),
    )


@pytest.mark.parametrize(
    ("analysis", "routing"),
    [
        ({"stepWeight": 5}, "Weight step: 5 max: 100"),
        ({"stepWeight": None, "stepWeights": [1, 2, 10, 80]}, "Weight steps: 1,2,10,80 max: 80"),
        (
            {"stepWeight": None, "iterations": 10, "match": [{"headers": {"x": {"exact": "1"}}}]},
            "A/B Testing",
        ),
        ({"stepWeight": None, "iterations": 10}, "Blue/Green"),
    ],
)
def test_traffic_routing(make_canary, analysis, routing):
    fields = alert_fields(make_canary(**analysis), cluster="", details=True)
    assert fields[-1] == Field("Traffic routing", routing)
    assert fields[2] == Field("Progress deadline", "600s")
