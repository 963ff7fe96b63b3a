"""The built-in metrics of a provider: which table row measures it, and every query built from it.

Who uses it: :mod:`serinus.metrics.checks` for ``request-success-rate`` (percent) and
``request-duration`` (milliseconds); the statistical judges for the primary-side twins, the request
counts and the latency histograms; :mod:`serinus.metrics.diagnosis` for the selectors to look at
when a query comes back empty.

Which row measures a Canary follows Flagger (``pkg/metrics/observers/factory.go`` and
``pkg/controller/scheduler_metrics.go``), with one difference: a provider without built-in queries
is an :class:`~serinus.errors.UnknownProviderError` where Flagger silently measures Istio's series.

- the Canary's ``spec.provider``, else the operator's mesh provider; but when the operator's
  provider is Linkerd, a Canary's own provider is measured as ``linkerd`` (Flagger's override);
- ``kubernetes`` and ``gatewayapi[:version]`` read the application's own ``http_request_duration_*``
  series; ``appmesh[:v1beta2]`` and ``gloo[:...]`` match by prefix;
- ``smi:*`` reads Istio's series, as Flagger's default gives SMI providers;
- a ``Service`` target appends ``:service`` (Flagger does, then falls into the Istio default): only
  ``istio:service`` keeps Istio's queries, any other is unknown, since its series cannot match. A
  Knative Service target is not a plain Service and keeps its provider (``knative``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Literal

from serinus.apis.canary import Canary
from serinus.errors import UnknownProviderError
from serinus.metrics import templating
from serinus.metrics.queries import OBSERVERS, MeshQueries
from serinus.metrics.templating import QueryModel

Side = Literal["canary", "primary"]
SERVICE_SUFFIX = ":service"

_EXACT = {
    "istio": "istio",
    "istio:service": "istio",
    "linkerd": "linkerd",
    "nginx": "nginx",
    "contour": "contour",
    "kuma": "kuma",
    "knative": "knative",
    "osm": "osm",
    "traefik": "traefik",
    "apisix": "apisix",
    "skipper": "skipper",
    "kubernetes": "http",
}
_PREFIXES = {"appmesh": "appmesh", "gloo": "gloo", "gatewayapi": "http", "smi:": "istio"}


def metrics_provider(canary: Canary, default_provider: str) -> str:
    """The provider whose built-in queries measure the Canary, by Flagger's rules."""
    provider = default_provider
    if canary.spec.provider:
        provider = "linkerd" if "linkerd" in default_provider else canary.spec.provider
    target = canary.spec.target_ref
    if target.kind == "Service" and not target.is_knative_service:
        provider += SERVICE_SUFFIX
    return provider


def observer_name(provider: str) -> str:
    """The table row that measures ``provider``; UnknownProviderError when none does."""
    if provider in _EXACT:
        return _EXACT[provider]
    if not provider.endswith(SERVICE_SUFFIX):
        for prefix, name in _PREFIXES.items():
            if provider.startswith(prefix):
                return name
    raise UnknownProviderError("built-in metrics for provider", provider)


def observer(provider: str) -> MeshQueries:
    return OBSERVERS[observer_name(provider)]


def side_values(model: QueryModel, side: Side) -> dict[str, str]:
    """The template values of one side: Flagger's, plus the table's side-specific ones."""
    values = model.values()
    canary = side == "canary"
    values["workload"] = model.target if canary else f"{model.target}-primary"
    values["workload_label"] = "statefulset" if model.target_kind == "StatefulSet" else "deployment"
    values["role"] = side
    values["nginx_canary"] = 'canary!=""' if canary else 'canary=""'
    revision = model.route if canary else model.primary_revision
    if revision is not None:
        values["revision"] = revision
    values["skipper_route"] = _skipper_route(model, side)
    values["outcome"] = ""
    return values


def _skipper_route(model: QueryModel, side: Side) -> str:
    """Skipper names routes after the Ingress, with non-word characters turned into ``_``."""
    namespace, ingress, service = (
        re.sub(r"\W", "_", text) for text in (model.namespace, model.ingress, model.service)
    )
    if side == "canary":
        return f"kube(ew)?_{namespace}__{ingress}_canary__.*__{service}_canary(_[0-9]+)?"
    return f"kube(ew)?_{namespace}__{ingress}__.*__{service}_primary(_[0-9]+)?"


def request_selector(
    provider: str,
    model: QueryModel,
    *,
    side: Side = "canary",
    outcome: Literal["all", "ok", "failed"] = "all",
) -> str:
    """The rendered selector of the provider's request counter, e.g. ``response_total{...}``."""
    row = _row(provider, side)
    matcher = {"all": "", "ok": f",{row.ok}", "failed": f",{row.failed}"}[outcome]
    values = side_values(model, side) | {"outcome": matcher}
    return templating.render(row.requests, values, source=_source(provider, side))


def latency_selector(provider: str, model: QueryModel, *, side: Side = "canary") -> str:
    """The rendered selector of the provider's latency histogram buckets."""
    row = _row(provider, side)
    return templating.render(
        row.latency.bucket, side_values(model, side), source=_source(provider, side)
    )


def success_rate_query(provider: str, model: QueryModel, *, side: Side = "canary") -> str:
    """``request-success-rate``: percent of requests that did not fail (non-5xx)."""
    ok = request_selector(provider, model, side=side, outcome="ok")
    every = request_selector(provider, model, side=side)
    window = model.interval
    return f"sum(rate({ok}[{window}])) / sum(rate({every}[{window}])) * 100"


def duration_query(provider: str, model: QueryModel, *, side: Side = "canary") -> str:
    """``request-duration``: P99 (or, for NGINX and Skipper, the mean) latency.

    The value is in the provider's unit; multiply by :func:`duration_scale` for milliseconds.
    """
    row = _row(provider, side)
    window = model.interval
    if row.latency.kind == "quantile":
        bucket = latency_selector(provider, model, side=side)
        return f"histogram_quantile(0.99, sum(rate({bucket}[{window}])) by (le))"
    values = side_values(model, side)
    source = _source(provider, side)
    total = templating.render(row.latency.sum, values, source=source)
    count = templating.render(row.latency.count, values, source=source)
    return f"sum(rate({total}[{window}])) / sum(rate({count}[{window}])) * 1000"


def duration_selector(provider: str, model: QueryModel, *, side: Side = "canary") -> str:
    """The series :func:`duration_query` reads: the buckets, or the ``_count`` of a mean."""
    row = _row(provider, side)
    if row.latency.kind == "quantile":
        return latency_selector(provider, model, side=side)
    return templating.render(
        row.latency.count, side_values(model, side), source=_source(provider, side)
    )


def duration_scale(provider: str) -> float:
    """Milliseconds per unit of :func:`duration_query`'s value (1000 where it gives seconds)."""
    return observer(provider).duration_scale


@dataclasses.dataclass(frozen=True)
class CountQueries:
    """Total and failed (5xx) requests of each side over a window: ``sum(increase(...[W]))``.

    The failed counts end in ``or vector(0)``: most meshes only create a 5xx series at the first
    failure, so "no failed series" means zero failures, while an empty total still means no data.
    """

    canary_total: str
    canary_failed: str
    primary_total: str
    primary_failed: str


def count_queries(
    provider: str, model: QueryModel, *, window: str | None = None, at: float | None = None
) -> CountQueries:
    """The request counts of canary and primary, for a judge that compares error rates.

    Args:
        window: the range to count over; the metric's interval when None.
        at: evaluate the range as of this Unix time (PromQL's ``@``), so that both sides are
            read for the same explicit window whenever the query runs.
    """
    span = window or model.interval
    pinned = "" if at is None else f" @ {at:.3f}"

    def count(side: Side, outcome: Literal["all", "failed"]) -> str:
        selector = request_selector(provider, model, side=side, outcome=outcome)
        zero = " or vector(0)" if outcome == "failed" else ""
        return f"sum(increase({selector}[{span}]{pinned})){zero}"

    return CountQueries(
        canary_total=count("canary", "all"),
        canary_failed=count("canary", "failed"),
        primary_total=count("primary", "all"),
        primary_failed=count("primary", "failed"),
    )


@dataclasses.dataclass(frozen=True)
class HistogramQueries:
    """Latency buckets of each side over a window: one series per ``le``.

    ``le_ms`` is milliseconds per unit of ``le`` (1000 when the buckets are in seconds).
    """

    canary: str
    primary: str
    le_ms: float


def histogram_queries(
    provider: str, model: QueryModel, *, window: str | None = None, at: float | None = None
) -> HistogramQueries:
    """``sum by (le) (increase(<buckets>[W] @ T))`` of canary and primary, for a latency judge."""
    span = window or model.interval
    pinned = "" if at is None else f" @ {at:.3f}"

    def buckets(side: Side) -> str:
        selector = latency_selector(provider, model, side=side)
        return f"sum by (le) (increase({selector}[{span}]{pinned}))"

    return HistogramQueries(buckets("canary"), buckets("primary"), observer(provider).latency.le_ms)


@dataclasses.dataclass(frozen=True)
class HistoryQueries:
    """The primary's raw counters summed over its series, for a range query before a release.

    Differences between consecutive steps are the primary's counts per window (a decrease, from
    a pod restarting, counts as nothing).
    """

    total: str
    failed: str
    buckets: str
    le_ms: float


def history_queries(provider: str, model: QueryModel) -> HistoryQueries:
    """``sum(<counter>)`` of the primary's requests, failed requests and latency buckets."""
    total = request_selector(provider, model, side="primary", outcome="all")
    failed = request_selector(provider, model, side="primary", outcome="failed")
    buckets = latency_selector(provider, model, side="primary")
    return HistoryQueries(
        total=f"sum({total})",
        failed=f"sum({failed}) or vector(0)",
        buckets=f"sum by (le) ({buckets})",
        le_ms=observer(provider).latency.le_ms,
    )


def watermark_queries(provider: str, model: QueryModel, *, latency: bool) -> tuple[str, str]:
    """``min(timestamp(<series>))`` of the canary's and the primary's series a judge reads:
    the oldest of their latest samples (the request counters, or the latency buckets)."""

    def oldest(side: Side) -> str:
        if latency:
            selector = latency_selector(provider, model, side=side)
        else:
            selector = request_selector(provider, model, side=side)
        return f"min(timestamp({selector}))"

    return oldest("canary"), oldest("primary")


def _row(provider: str, side: Side) -> MeshQueries:
    row = observer(provider)
    if side == "primary" and not row.primary:
        raise UnknownProviderError("primary-side metrics for provider", provider)
    return row


def _source(provider: str, side: Side) -> str:
    return f"the built-in {observer_name(provider)} query ({side} side)"
