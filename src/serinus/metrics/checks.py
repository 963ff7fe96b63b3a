"""Measuring the metrics of a canary analysis: the implementation of :class:`serinus.ports.Metrics`.

The operator builds one :class:`MetricChecks` from its flags (the default metrics server and mesh
provider), the Kubernetes reader of MetricTemplates and Secrets, and its one ``httpx.AsyncClient``;
the controller then calls :meth:`MetricChecks.measure` for each metric of each step. A metric is
measured by the first of these that applies:

1. ``templateRef``: the MetricTemplate (its namespace defaults to the Canary's), its query rendered
   with the Canary's values, sent to the template's provider (credentials from its ``secretRef``);
2. ``query`` (deprecated inline PromQL): rendered the same way, sent to the metrics server;
3. a built-in name: the provider's built-in query (:mod:`serinus.metrics.observers`) against
   ``spec.metricsServer``, else the operator's default server.

An explicit template or query wins over a built-in name, so a metric called ``request-duration``
with its own template measures that template (Flagger would run both).

"No values found" names the query, the labels it matched on and the likely cause, found with one
follow-up query (:mod:`serinus.metrics.diagnosis`). Its opening words stay Flagger's, which the
controller prefixes with "Halt advancement ": ``no values found for linkerd metric
request-success-rate probably podinfo.prod is not receiving traffic: ...`` for built-ins and
``no values found for custom metric: <name>: ...`` for templates.

For a Knative Service target the queries' ``route`` is the latest revision Knative created (the
canary) and the primary side's revision is the one in ``flagger.app/primary-revision``, both read
from the Service, as Flagger's scheduler does.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import logging
import math
from collections.abc import Callable, Mapping, Sequence

import httpx

from serinus.apis.analysis import BUILTIN_METRICS, CanaryMetric, ObjectRef
from serinus.apis.canary import KNATIVE_API_VERSION, PRIMARY_REVISION_ANNOTATION, Canary
from serinus.errors import InvalidCanaryError, NotFoundError, NoValuesFoundError
from serinus.kube import Kube
from serinus.metrics import diagnosis, judged_templates, observers, templating
from serinus.metrics.providers import registry
from serinus.metrics.providers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    Provider,
    ProviderSettings,
    collapse_whitespace,
)
from serinus.metrics.providers.prometheus import PrometheusProvider, single_value
from serinus.metrics.templating import QueryModel
from serinus.ports import (
    Clock,
    CountComparison,
    Counts,
    History,
    LatencyComparison,
    Resources,
)

logger = logging.getLogger(__name__)


class MetricChecks:
    """Measures built-in, templated and inline metrics; implements :class:`serinus.ports.Metrics`.

    Args:
        metrics_server: the operator's default Prometheus address (``--metrics-server``).
        mesh_provider: the operator's default mesh provider (``--mesh-provider``).
        resources: reads MetricTemplates and Secrets.
        http: the client every query goes through.
        insecure_http: the client for providers with ``insecureSkipVerify``; when None, one that
            skips TLS verification is created on first use and closed by :meth:`aclose`.
        timeout: seconds to wait for any backend (Flagger: 5).
        clock: when set, queries are evaluated at this clock's time (rehearsals, tests).
        kube: the operator's Kubernetes connection, for the backends that live in the cluster's
            API (keptn, externalmetrics); None where there is no cluster.
        timed: told ``(provider type, seconds)`` of each exchange with a backend
            (:attr:`~serinus.metrics.providers.base.ProviderSettings.timed`).
    """

    def __init__(
        self,
        *,
        metrics_server: str,
        mesh_provider: str,
        resources: Resources,
        http: httpx.AsyncClient,
        insecure_http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Clock | None = None,
        kube: Kube | None = None,
        timed: Callable[[str, float], None] | None = None,
    ) -> None:
        self._kube = kube
        self._timed = timed
        self._metrics_server = metrics_server
        self._mesh_provider = mesh_provider
        self._resources = resources
        self._http = http
        self._insecure_http = insecure_http
        self._owns_insecure = False
        self._timeout = timeout
        self._clock = clock

    async def _model(self, canary: Canary, metric: CanaryMetric) -> QueryModel:
        """The template values; a Knative target's revisions are read from its Service."""
        model = templating.model_for(canary, metric)
        target = canary.spec.target_ref
        if self._kube is None or not target.is_knative_service:
            return model
        service = await self._kube.get(
            KNATIVE_API_VERSION, "Service", target.name, canary.namespace
        )
        if service is None:
            raise NotFoundError(f"Knative Service {canary.namespace}/{target.name} not found")
        latest = (service.get("status") or {}).get("latestCreatedRevisionName")
        annotations = (service.get("metadata") or {}).get("annotations") or {}
        return dataclasses.replace(
            model,
            route=str(latest or model.route),
            primary_revision=annotations.get(PRIMARY_REVISION_ANNOTATION),
        )

    async def measure(self, canary: Canary, metric: CanaryMetric) -> float:
        model = await self._model(canary, metric)
        if metric.template_ref is not None:
            value = await self._measure_template(canary, metric, model)
        elif metric.query:
            value = await self._measure_inline(canary, metric, model)
        elif metric.name in BUILTIN_METRICS:
            value = await self._measure_builtin(canary, metric, model)
        else:
            raise InvalidCanaryError(
                f"spec.analysis.metrics[{metric.name}]: expected a built-in metric"
                f" ({', '.join(BUILTIN_METRICS)}), a templateRef or a query"
            )
        logger.debug("%s metric %s = %s", canary.key, metric.name, value)
        return value

    async def compare_counts(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> CountComparison:
        """Requests and failed requests of both sides in ``(since, until]`` (built-ins only).

        ``sum(increase(<counter>[<until - since>] @ <until>))``: the same explicit window on both
        sides, wherever Prometheus' clock and the operator's stand.
        """
        provider = observers.metrics_provider(canary, self._mesh_provider)
        model = await self._model(canary, metric)
        window = _window((until - since).total_seconds())
        queries = observers.count_queries(provider, model, window=window, at=until.timestamp())
        server = self._server(canary)
        values = [
            await self._count(server, query)
            for query in (
                queries.canary_total,
                queries.canary_failed,
                queries.primary_total,
                queries.primary_failed,
            )
        ]
        if metric.template_ref is not None:  # the events are the template's, pinned alike
            backend, source, query = await self._judged_template(canary, metric)
            for index, primary in ((1, False), (3, True)):
                pinned = judged_templates.pinned(
                    query,
                    model,
                    primary=primary,
                    window=window,
                    at=until.timestamp(),
                    source=source,
                )
                values[index] = await self._count(backend, pinned)
        return CountComparison(
            canary=Counts(requests=values[0], errors=values[1]),
            primary=Counts(requests=values[2], errors=values[3]),
        )

    async def compare_latency(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        since: datetime.datetime,
        until: datetime.datetime,
    ) -> LatencyComparison:
        """Latency histograms (le in milliseconds) of both sides in ``(since, until]``."""
        provider = observers.metrics_provider(canary, self._mesh_provider)
        queries = observers.histogram_queries(
            provider,
            await self._model(canary, metric),
            window=_window((until - since).total_seconds()),
            at=until.timestamp(),
        )
        server = self._server(canary)
        sides = []
        for query in (queries.canary, queries.primary):
            samples = await server.vector(collapse_whitespace(query))
            sides.append(_buckets([(s.labels, s.value) for s in samples], queries.le_ms))
        return LatencyComparison(canary=sides[0], primary=sides[1])

    async def primary_history(
        self,
        canary: Canary,
        metric: CanaryMetric,
        *,
        until: datetime.datetime,
        seconds: float,
        step: float,
    ) -> History:
        """The primary's counters before ``until``, one range query per counter, differenced."""
        provider = observers.metrics_provider(canary, self._mesh_provider)
        queries = observers.history_queries(provider, await self._model(canary, metric))
        server = self._server(canary)
        end = until.timestamp()
        start = end - math.floor(seconds / step) * step

        async def steps(query: str) -> list[tuple[Mapping[str, str], list[tuple[float, float]]]]:
            return await server.matrix(collapse_whitespace(query), start=start, end=end, step=step)

        if metric.name == "request-duration" and metric.template_ref is None:
            per_le = await steps(queries.buckets)
            times = sorted({t for _, points in per_le for t, _ in points})
            by_time: dict[float, list[tuple[Mapping[str, str], float]]] = {t: [] for t in times}
            for labels, points in per_le:
                for t, value in points:
                    by_time[t].append((labels, value))
            histograms = [_buckets(by_time[t], queries.le_ms) for t in times]
            windows = [
                [(le, max(count - dict(before).get(le, 0.0), 0.0)) for le, count in after]
                for before, after in itertools.pairwise(histograms)
            ]
            return History(counts=[], latency=windows)
        totals = _points(await steps(queries.total))
        failed = _points(await steps(queries.failed))
        events: dict[float, float] | None = None
        if metric.template_ref is not None:  # the template's events per step (increase)
            backend, source, query = await self._judged_template(canary, metric)
            window = _window(step)
            text = judged_templates.pinned(
                query,
                await self._model(canary, metric),
                primary=True,
                window=window,
                at=None,
                source=source,
            )
            events = _points(
                await backend.matrix(collapse_whitespace(text), start=start, end=end, step=step)
            )
        counts = []
        for (t0, n0), (t1, n1) in itertools.pairwise(totals.items()):
            x = failed.get(t1, 0.0) - failed.get(t0, 0.0) if events is None else events.get(t1, 0.0)
            counts.append(Counts(requests=max(n1 - n0, 0.0), errors=max(x, 0.0)))
        return History(counts=counts, latency=[])

    async def watermark(self, canary: Canary, metric: CanaryMetric) -> datetime.datetime | None:
        """The oldest of both sides' latest sample times (``min(timestamp(...))``, at now)."""
        provider = observers.metrics_provider(canary, self._mesh_provider)
        queries = observers.watermark_queries(
            provider,
            await self._model(canary, metric),
            latency=metric.name == "request-duration" and metric.template_ref is None,
        )
        reads: list[tuple[PrometheusProvider, str]] = [(self._server(canary), q) for q in queries]
        if metric.template_ref is not None:  # the template's own series too
            backend, source, query = await self._judged_template(canary, metric)
            model = await self._model(canary, metric)
            for primary in (False, True):
                text = judged_templates.pinned(
                    query, model, primary=primary, window="1s", at=None, source=source
                )
                reads += [(backend, f"min(timestamp({s}))") for s in diagnosis.selectors_in(text)]
        latest: list[float] = []
        for server, text in reads:
            values = [s.value for s in await server.vector(text) if math.isfinite(s.value)]
            if not values:
                return None
            latest.append(min(values))
        return datetime.datetime.fromtimestamp(min(latest), tz=datetime.UTC)

    async def _judged_template(
        self, canary: Canary, metric: CanaryMetric
    ) -> tuple[PrometheusProvider, str, str]:
        """The backend, name and query of a judged metric's template, checked for the judge."""
        ref = metric.template_ref
        if ref is None:
            raise InvalidCanaryError(f"spec.analysis.metrics[{metric.name}]: no templateRef")
        source, backend, query = await self._template(canary, metric, ref)
        if not isinstance(backend, PrometheusProvider):
            raise InvalidCanaryError(
                f"spec.analysis.metrics[{metric.name}].templateRef: a judged metric needs a"
                f" prometheus MetricTemplate (its windows are pinned with PromQL's @); {source} is"
                f" of type {backend.kind!r}"
            )
        judged_templates.check(metric.name, source, query)
        return backend, source, query

    async def _count(self, server: PrometheusProvider, query: str) -> float:
        """A count; no series at all means nothing was counted (zero)."""
        samples = await server.vector(collapse_whitespace(query))
        values = [s.value for s in samples if math.isfinite(s.value)]
        return sum(values)

    async def check_online(self, canary: Canary) -> None:
        """Check every backend the Canary's metrics use, each (type, address) once.

        Also raises UnknownProviderError for a provider or template type serinus cannot
        measure, so such a Canary fails at initialization instead of at its first step.
        """
        analysis = canary.spec.effective_analysis
        metrics = (analysis.metrics if analysis else None) or []
        checked: set[tuple[str, str]] = set()
        for metric in metrics:
            backend: Provider
            if metric.template_ref is not None and metric.judge is not None:
                backend = (await self._judged_template(canary, metric))[0]
            elif metric.template_ref is not None:
                backend = (await self._template(canary, metric, metric.template_ref))[1]
            else:
                if not metric.query and metric.name in BUILTIN_METRICS:
                    observers.observer(observers.metrics_provider(canary, self._mesh_provider))
                backend = self._server(canary)
            if (backend.kind, backend.address) not in checked:
                checked.add((backend.kind, backend.address))
                await backend.check_online()

    async def aclose(self) -> None:
        """Close the client this object created itself (the injected ones stay open)."""
        if self._owns_insecure and self._insecure_http is not None:
            await self._insecure_http.aclose()
            self._insecure_http, self._owns_insecure = None, False

    async def _measure_builtin(
        self, canary: Canary, metric: CanaryMetric, model: QueryModel
    ) -> float:
        provider = observers.metrics_provider(canary, self._mesh_provider)
        if metric.name == "request-success-rate":
            query = observers.success_rate_query(provider, model)
            selector = observers.request_selector(provider, model)
            scale = 1.0
        else:
            query = observers.duration_query(provider, model)
            selector = observers.duration_selector(provider, model)
            scale = observers.duration_scale(provider)
        prefix = (
            f"no values found for {provider} metric {metric.name}"
            f" probably {canary.target_key} is not receiving traffic"
        )
        idle = (
            f"no traffic reached the canary in the last {model.interval}"
            f" (series matching {selector} exist)"
        )
        value = await self._promql(
            self._server(canary), query, prefix=prefix, selectors=[selector], idle=idle
        )
        return value * scale

    async def _measure_inline(
        self, canary: Canary, metric: CanaryMetric, model: QueryModel
    ) -> float:
        source = f"spec.analysis.metrics[{metric.name}].query"
        query = templating.render(metric.query or "", model.values(), source=source)
        prefix = f"no values found for metric: {metric.name}"
        return await self._promql(self._server(canary), query, prefix=prefix)

    async def _measure_template(
        self, canary: Canary, metric: CanaryMetric, model: QueryModel
    ) -> float:
        ref = metric.template_ref
        if ref is None:
            raise InvalidCanaryError(f"spec.analysis.metrics[{metric.name}]: no templateRef")
        source, backend, template_query = await self._template(canary, metric, ref)
        query = templating.render(template_query, model.values(), source=source)
        prefix = f"no values found for custom metric: {metric.name}"
        if isinstance(backend, PrometheusProvider):
            return await self._promql(backend, query, prefix=prefix)
        try:
            return await backend.query(query)
        except NoValuesFoundError as err:
            raise NoValuesFoundError(f"{prefix}: {err}") from err

    async def _promql(
        self,
        prometheus: PrometheusProvider,
        query: str,
        *,
        prefix: str,
        selectors: list[str] | None = None,
        idle: str | None = None,
    ) -> float:
        """One value of a PromQL query; an empty answer is explained by a follow-up query."""
        text = collapse_whitespace(query)
        samples = await prometheus.vector(text)
        if not samples:
            selectors = selectors if selectors is not None else diagnosis.selectors_in(text)
            cause = await diagnosis.missing_series(prometheus, selectors)
            if cause is None and selectors:
                cause = idle or (
                    f"series matching {selectors[0]} exist but had no samples in the query's"
                    " window: no traffic in the window?"
                )
            raise NoValuesFoundError(
                f"{prefix}: {cause or 'the query matched no series'}; query: {text}"
            )
        try:
            return single_value(samples, query=text)
        except NoValuesFoundError as err:
            raise NoValuesFoundError(f"{prefix}: {err}") from err

    async def _template(
        self, canary: Canary, metric: CanaryMetric, ref: ObjectRef
    ) -> tuple[str, Provider, str]:
        """The template's name for messages, its backend and its query."""
        namespace = ref.namespace or canary.namespace
        source = f"MetricTemplate {namespace}/{ref.name}"
        template = await self._resources.metric_template(namespace, ref.name)
        spec = template.spec.provider
        build = registry.factory(spec.type)
        secret = None
        if spec.secret_ref is not None:
            secret = await self._resources.secret(namespace, spec.secret_ref.name)
        settings = ProviderSettings(
            kind=spec.type,
            http=self._client(insecure=bool(spec.insecure_skip_verify)),
            address=spec.address,
            headers=dict(spec.headers or {}),
            secret=secret,
            secret_name=spec.secret_ref.name if spec.secret_ref else "",
            interval=metric.effective_interval,
            timeout=self._timeout,
            clock=self._clock,
            source=source,
            region=spec.region,
            kube=self._kube,
            timed=self._timed,
        )
        return source, build(settings), template.spec.query

    def _server(self, canary: Canary) -> PrometheusProvider:
        address = canary.spec.metrics_server or self._metrics_server
        return PrometheusProvider(
            ProviderSettings(
                kind="prometheus",
                http=self._http,
                address=address,
                timeout=self._timeout,
                clock=self._clock,
                source=f"Canary {canary.key}",
                address_field="spec.metricsServer (or the operator's --metrics-server)",
                timed=self._timed,
            )
        )

    def _client(self, *, insecure: bool) -> httpx.AsyncClient:
        if not insecure:
            return self._http
        if self._insecure_http is None:
            self._insecure_http = httpx.AsyncClient(verify=False)
            self._owns_insecure = True
        return self._insecure_http


def _buckets(
    samples: Sequence[tuple[Mapping[str, str], float]], le_ms: float
) -> list[tuple[float, float]]:
    """(le in milliseconds, count) pairs of one histogram, sorted, NaN dropped."""
    pairs = sorted(
        (float(labels.get("le", "+Inf")) * le_ms, value)
        for labels, value in samples
        if math.isfinite(value)
    )
    return [(le if math.isfinite(le) else math.inf, count) for le, count in pairs]


def _points(
    series: Sequence[tuple[Mapping[str, str], list[tuple[float, float]]]],
) -> dict[float, float]:
    """One summed series' values by time (the sum of all series if several came back)."""
    values: dict[float, float] = {}
    for _, points in series:
        for t, value in points:
            if math.isfinite(value):
                values[t] = values.get(t, 0.0) + value
    return dict(sorted(values.items()))


def _window(seconds: float) -> str:
    """A PromQL range of whole seconds, at least one."""
    return f"{max(1, math.ceil(seconds))}s"
