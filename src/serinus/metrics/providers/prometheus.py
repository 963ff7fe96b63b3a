"""The Prometheus HTTP API client: instant queries, the online check, every failure shape.

Used for the built-in metrics (against the Canary's ``metricsServer`` or the operator's default),
for inline ``query`` metrics, and for MetricTemplates of type ``prometheus``. Like Flagger it sends
``GET <address>/api/v1/query`` with the query's whitespace collapsed, a 5 s timeout, optional
headers, and a bearer ``token`` or basic ``username``/``password`` from the template's Secret; the
online check is ``vector(1)``, which must return 1.

Where Flagger folds every odd answer into "no values found", each shape here has its own error,
because each has a different fix: an empty result (nothing matched), NaN (0/0: the series exist
but nothing happened in the window), several series (the query needs a ``sum``), a rejected query
(HTTP 4xx with Prometheus' own ``error`` text), and no answer (timeout, refused). :meth:`vector`
returns the raw samples so :mod:`serinus.metrics.diagnosis` can look closer at an empty result.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from serinus.errors import (
    BODY_LIMIT,
    MultipleValuesError,
    NoValuesFoundError,
    ProviderUnavailableError,
    QueryError,
)
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

logger = logging.getLogger(__name__)

ONLINE_QUERY = "vector(1)"
NAN_CAUSE = "the query returned NaN: 0/0, i.e. no requests in the window"
SHOWN_SERIES = 5


@dataclasses.dataclass(frozen=True)
class Sample:
    """One series of an instant query's answer: its labels and its value."""

    labels: Mapping[str, str]
    value: float

    @property
    def label_text(self) -> str:
        """The label set as PromQL writes it: ``{deployment="podinfo",namespace="prod"}``."""
        pairs = ",".join(f'{key}="{value}"' for key, value in sorted(self.labels.items()))
        return "{" + pairs + "}"


class PrometheusProvider:
    """A Prometheus server (or anything speaking its HTTP API: Thanos, Mimir, VictoriaMetrics)."""

    kind = "prometheus"

    def __init__(self, settings: ProviderSettings) -> None:
        self.address = settings.require_address("http://prometheus.monitoring:9090")
        self._settings = settings
        self._headers = dict(settings.headers)
        self._auth: tuple[str, str] | None = None
        if settings.secret is not None:
            if "token" in settings.secret:
                self._headers["Authorization"] = f"Bearer {settings.secret['token']}"
            else:
                self._auth = (settings.secret_value("username"), settings.secret_value("password"))

    async def query(self, query: str) -> float:
        return single_value(await self.vector(query), query=collapse(query))

    async def vector(self, query: str) -> list[Sample]:
        """Every series of an instant query, as Prometheus returned them (possibly none)."""
        text = collapse(query)
        params = {"query": text}
        if self._settings.clock is not None:
            params["time"] = f"{self._settings.now():.3f}"
        logger.debug("prometheus query at %s: %s", self.address, text)
        body = await self._get("/api/v1/query", params, query=text)
        return _samples(self._settings, body, text)

    async def matrix(
        self, query: str, *, start: float, end: float, step: float
    ) -> list[tuple[Mapping[str, str], list[tuple[float, float]]]]:
        """A range query (``/api/v1/query_range``): every series with its (time, value) points."""
        text = collapse(query)
        params = {"query": text, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        logger.debug("prometheus range query at %s: %s", self.address, text)
        body = await self._get("/api/v1/query_range", params, query=text)
        return _series(self._settings, body, text)

    async def _get(self, path: str, params: dict[str, str], *, query: str) -> Any:
        """The JSON body of GET ``path`` (errors name ``query``)."""
        response = await base.get(
            self._settings,
            f"{self.address}{path}",
            params=params,
            headers=self._headers,
            basic_auth=self._auth,
        )
        base.check_status(self._settings, response, query=query)
        return base.json_body(self._settings, response)

    async def check_online(self) -> None:
        value = await self.query(ONLINE_QUERY)
        if value != 1:
            raise ProviderUnavailableError(
                f"prometheus at {self.address} is not online: {ONLINE_QUERY} returned {value:g}"
            )


def collapse(query: str) -> str:
    return base.collapse_whitespace(query)


def single_value(samples: Sequence[Sample], *, query: str) -> float:
    """The one value of an answer; an error naming the shape when there is not exactly one."""
    if not samples:
        raise NoValuesFoundError(f"the query matched no series; query: {query}")
    if len(samples) > 1:
        raise MultipleValuesError(
            f"the query returned {len(samples)} series where one value was expected:"
            f" {describe_series(samples)}; aggregate them (e.g. sum(...)); query: {query}"
        )
    value = samples[0].value
    if math.isnan(value):
        raise NoValuesFoundError(f"{NAN_CAUSE}; query: {query}")
    return value


def describe_series(samples: Sequence[Sample]) -> str:
    shown = ", ".join(sample.label_text for sample in samples[:SHOWN_SERIES])
    more = len(samples) - SHOWN_SERIES
    return f"{shown} and {more} more" if more > 0 else shown


def _samples(settings: ProviderSettings, body: object, query: str) -> list[Sample]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("status") != "success" or not isinstance(data, dict):
        raise QueryError(
            f"prometheus at {settings.address} did not answer with a query result:"
            f" {str(body)[:BODY_LIMIT]}; query: {query}"
        )
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        return [Sample({}, _number(settings, result, query))]
    if kind == "matrix" and isinstance(result, list):
        raise MultipleValuesError(
            f"the query returned a range vector ({len(result)} series, several values each)"
            f" where one value was expected: use an instant expression such as"
            f" sum(rate(...[1m])); query: {query}"
        )
    if kind != "vector" or not isinstance(result, list):
        raise QueryError(
            f"prometheus at {settings.address} returned a {kind} result where a number was"
            f" expected; query: {query}"
        )
    samples = []
    for entry in result:
        labels = entry.get("metric") if isinstance(entry, dict) else None
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(labels, dict) or not isinstance(value, list):
            raise QueryError(
                f"prometheus at {settings.address} returned a malformed series: {entry}"
            )
        samples.append(Sample(labels, _number(settings, value, query)))
    return samples


def _number(settings: ProviderSettings, pair: list[object], query: str) -> float:
    try:
        return float(str(pair[1]))
    except (IndexError, ValueError) as err:
        raise QueryError(
            f"prometheus at {settings.address} returned {pair!r} where [time, value] was expected;"
            f" query: {query}"
        ) from err


def _series(
    settings: ProviderSettings, body: object, query: str
) -> list[tuple[Mapping[str, str], list[tuple[float, float]]]]:
    """The series of a range query's answer."""
    data = body.get("data") if isinstance(body, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    if (
        not isinstance(body, dict)
        or body.get("status") != "success"
        or not isinstance(data, dict)
        or data.get("resultType") != "matrix"
        or not isinstance(result, list)
    ):
        raise QueryError(
            f"prometheus at {settings.address} did not answer with a range result:"
            f" {str(body)[: base.BODY_LIMIT]}; query: {query}"
        )
    series: list[tuple[Mapping[str, str], list[tuple[float, float]]]] = []
    for entry in result:
        labels = entry.get("metric") if isinstance(entry, dict) else None
        values = entry.get("values") if isinstance(entry, dict) else None
        if not isinstance(labels, dict) or not isinstance(values, list):
            raise QueryError(
                f"prometheus at {settings.address} returned a malformed series:"
                f" {str(entry)[: base.BODY_LIMIT]}"
            )
        points = []
        for pair in values:
            if not isinstance(pair, list) or len(pair) != 2:
                raise QueryError(
                    f"prometheus at {settings.address} returned {pair!r} where [time, value]"
                    f" was expected; query: {query}"
                )
            points.append(
                (_number(settings, [None, pair[0]], query), _number(settings, pair, query))
            )
        series.append((labels, points))
    return series
