"""The operator's self-metrics as Prometheus reads them from the registry, tick after tick.

Covers: a tick sets the Canary's status, weights (primary and canary workloads), last tick,
interval and duration; the next tick updates the same series; a Canary forgotten (deleted, or let
go to another replica) has none of its per-Canary series left (weights and metric values too),
and a Canary of that name ticked again has them again; a Canary whose target changed reports the
weights of the new workloads. The timing families: the five verbs' request
series are there at zero before any request, a method outside them gets a series of its own;
each metric provider type a series of its own; each observation lands in its own family and
series only.
"""

from __future__ import annotations

from typing import Any

from serinus.apis.canary import Canary
from serinus.apis.status import CanaryPhase
from serinus.operator.selfmetrics import SelfMetrics

PER_CANARY = (
    "flagger_canary_status",
    "serinus_canary_last_tick_timestamp_seconds",
    "serinus_canary_interval_seconds",
    "serinus_canary_deadline_timestamp_seconds",
    "serinus_canary_paused",
    "flagger_canary_duration_seconds_count",
)


def canary(weight: int, *, target: str = "podinfo") -> Canary:
    return Canary.model_validate(
        {
            "metadata": {"name": "podinfo", "namespace": "prod", "uid": "u1"},
            "spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "service": {"port": 9898},
                "analysis": {"interval": "10s", "threshold": 5, "stepWeight": 10},
            },
            "status": {"phase": "Progressing", "canaryWeight": weight},
        }
    )


def value(metrics: SelfMetrics, sample: str, **labels: Any) -> float | None:
    return metrics.registry.get_sample_value(sample, labels)


def test_each_tick_updates_the_canarys_series() -> None:
    metrics = SelfMetrics(mesh_provider="linkerd")
    before = CanaryPhase.PROGRESSING
    metrics.record(canary(10), before=before, seconds=0.01, interval=10.0)
    metrics.record(canary(20), before=before, seconds=0.01, interval=10.0)
    ours = {"name": "podinfo", "namespace": "prod"}
    assert value(metrics, "flagger_canary_status", **ours) == 0
    assert value(metrics, "flagger_canary_weight", workload="podinfo", namespace="prod") == 20
    primary = value(metrics, "flagger_canary_weight", workload="podinfo-primary", namespace="prod")
    assert primary == 80
    assert value(metrics, "serinus_canary_interval_seconds", **ours) == 10
    assert value(metrics, "flagger_canary_duration_seconds_count", **ours) == 2
    assert (value(metrics, "serinus_canary_last_tick_timestamp_seconds", **ours) or 0) > 0


def test_a_forgotten_canary_has_no_series_until_it_ticks_again() -> None:
    metrics = SelfMetrics(mesh_provider="linkerd")
    ours = {"name": "podinfo", "namespace": "prod"}
    metrics.record(canary(10), before=None, seconds=0.01, interval=10.0)
    metrics.forget("prod", "podinfo")
    assert [value(metrics, sample, **ours) for sample in PER_CANARY] == [None] * len(PER_CANARY)
    metrics.record(canary(30), before=None, seconds=0.01, interval=10.0)
    assert value(metrics, "flagger_canary_status", **ours) == 0
    assert value(metrics, "flagger_canary_duration_seconds_count", **ours) == 1


def test_a_forgotten_canary_leaves_no_weight_or_metric_value() -> None:
    metrics = SelfMetrics(mesh_provider="linkerd")
    measured = canary(10).model_dump(by_alias=True, exclude_none=True)
    measured["status"]["metrics"] = [{"name": "request-success-rate", "value": 99.5}]
    metrics.record(Canary.model_validate(measured), before=None, seconds=0.01)
    analysis = {"name": "podinfo", "namespace": "prod", "metric": "request-success-rate"}
    assert value(metrics, "flagger_canary_metric_analysis", **analysis) == 99.5
    metrics.forget("prod", "podinfo")
    assert value(metrics, "flagger_canary_metric_analysis", **analysis) is None
    for workload in ("podinfo", "podinfo-primary"):
        assert value(metrics, "flagger_canary_weight", workload=workload, namespace="prod") is None


def test_a_new_target_reports_its_own_weights() -> None:
    metrics = SelfMetrics(mesh_provider="linkerd")
    metrics.record(canary(10), before=None, seconds=0.01)
    metrics.record(canary(40, target="frontend"), before=None, seconds=0.01)
    assert value(metrics, "flagger_canary_weight", workload="frontend", namespace="prod") == 40
    primary = value(metrics, "flagger_canary_weight", workload="frontend-primary", namespace="prod")
    assert primary == 60


def test_each_time_lands_in_its_family_and_series() -> None:
    metrics = SelfMetrics(mesh_provider="linkerd")
    request = "serinus_kube_request_duration_seconds_count"
    for verb in ("GET", "PUT", "POST", "PATCH", "DELETE"):
        assert value(metrics, request, verb=verb) == 0
    metrics.kube.requested("PUT", 0.02)
    metrics.kube.requested("HEAD", 0.001)
    metrics.kube.rate_limited(0.3)
    metrics.queried("prometheus", 0.035)
    metrics.queried("datadog", 0.2)
    metrics.loop_lag.observe(0.004)
    assert value(metrics, request, verb="PUT") == 1
    assert value(metrics, request, verb="HEAD") == 1
    assert value(metrics, request, verb="GET") == 0
    assert value(metrics, "serinus_kube_request_duration_seconds_sum", verb="PUT") == 0.02
    wait = "serinus_kube_rate_limiter_wait_seconds"
    assert value(metrics, f"{wait}_bucket", le="0.25") == 0
    assert value(metrics, f"{wait}_bucket", le="0.5") == 1
    query = "serinus_metric_query_duration_seconds_count"
    assert value(metrics, query, provider="prometheus") == 1
    assert value(metrics, query, provider="datadog") == 1
    assert value(metrics, "serinus_event_loop_lag_seconds_count") == 1
