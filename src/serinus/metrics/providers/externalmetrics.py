"""Kubernetes' External Metrics API (``external.metrics.k8s.io``), as Flagger reads it.

Whatever serves that API in the cluster (KEDA, prometheus-adapter, Datadog's cluster agent...)
answers the query ``[<namespace>/]<metric>[?labelSelector=<selector>]`` (namespace ``default``
when omitted): ``GET /apis/external.metrics.k8s.io/v1beta1/namespaces/<namespace>/<metric>``. By
default through the operator's own Kubernetes connection; with ``spec.provider.address``, at that
address with the Secret's ``token`` as bearer token (``insecureSkipVerify`` honoured), as Flagger
does. The answer's values are Kubernetes quantities (``1500m``, ``2k``, ``1Gi``).

An empty answer names the metric, namespace and selector and says what it means: the adapter has no
series for that selector. A 404 means no adapter serves the metric. Several values are an error
naming their labels (Flagger takes the first). The online check asks for the API group's
discovery document instead of Flagger's made-up ``dummy-metric``.
"""

from __future__ import annotations

import decimal
import re
import urllib.parse
from typing import Any

from serinus.errors import (
    InvalidCanaryError,
    KubeError,
    MultipleValuesError,
    NoValuesFoundError,
    QueryError,
)
from serinus.metrics.providers import base
from serinus.metrics.providers.base import ProviderSettings

GROUP_PATH = "/apis/external.metrics.k8s.io/v1beta1"
FORMAT = "[<namespace>/]<metric>[?labelSelector=<selector>]"
_SUFFIXES = {
    "n": decimal.Decimal("1e-9"),
    "u": decimal.Decimal("1e-6"),
    "m": decimal.Decimal("1e-3"),
    "": decimal.Decimal(1),
    "k": decimal.Decimal("1e3"),
    "M": decimal.Decimal("1e6"),
    "G": decimal.Decimal("1e9"),
    "T": decimal.Decimal("1e12"),
    "P": decimal.Decimal("1e15"),
    "E": decimal.Decimal("1e18"),
    **{f"{p}i": decimal.Decimal(1024) ** (i + 1) for i, p in enumerate("KMGTPE")},
}
_QUANTITY = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$"
)


class ExternalMetricsProvider:
    kind = "externalmetrics"

    def __init__(self, settings: ProviderSettings) -> None:
        self._settings = settings
        self._headers = dict(settings.headers)
        if settings.address:
            self.address = settings.address.rstrip("/")
            if settings.secret is not None and "token" in settings.secret:
                self._headers["Authorization"] = f"Bearer {settings.secret['token']}"
        elif settings.kube is None:
            raise InvalidCanaryError(
                f"{settings.source}: spec.provider.address: expected the external metrics API"
                " address, as there is no Kubernetes connection here"
            )
        else:
            self.address = "the cluster's API server"

    async def query(self, query: str) -> float:
        namespace, metric, selector = parse(query, source=self._settings.source)
        path = f"{GROUP_PATH}/namespaces/{namespace}/{urllib.parse.quote(metric)}"
        if selector:
            path += "?" + urllib.parse.urlencode({"labelSelector": selector})
        wanted = f"metric {metric} in namespace {namespace}" + (
            f" with labelSelector {selector}" if selector else ""
        )
        body = await self._get(path, query=query)
        if body is None:
            raise QueryError(
                f"the external metrics API at {self.address} has no {wanted} (HTTP 404): is an"
                " adapter (KEDA, prometheus-adapter...) serving it?"
            )
        return _value(body, wanted)

    async def check_online(self) -> None:
        if await self._get(GROUP_PATH, query="(discovery)") is None:
            raise QueryError(
                f"{self.address} does not serve {GROUP_PATH[len('/apis/') :]}: no external metrics"
                " adapter is installed"
            )

    async def _get(self, path: str, *, query: str) -> Any:
        if self._settings.kube is not None and not self._settings.address:
            try:
                return await self._settings.kube.get_path(path)
            except KubeError as err:
                raise QueryError(f"the external metrics API: {err}") from err
        response = await base.send(
            self._settings, "GET", f"{self.address}{path}", headers=self._headers
        )
        if response.status_code == 404:
            return None
        base.check_status(self._settings, response, query=query)
        return base.json_body(self._settings, response)


def parse(query: str, *, source: str = "externalmetrics") -> tuple[str, str, str]:
    """(namespace, metric, label selector) of a query; InvalidCanaryError naming the format."""
    path, _, params = query.strip().partition("?")
    parts = path.removeprefix("/").split("/")
    selector = urllib.parse.parse_qs(params).get("labelSelector", [""])[0]
    if len(parts) == 1 and parts[0]:
        return "default", parts[0], selector
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1], selector
    raise InvalidCanaryError(
        f"{source}: spec.query: expected {FORMAT}, got {query.strip()[:200]!r}"
    )


def quantity(text: str) -> float:
    """A Kubernetes quantity as a number: ``1500m`` is 1.5, ``2Ki`` is 2048."""
    found = _QUANTITY.match(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    number, exponent, suffix = found.groups()
    value = decimal.Decimal(number)
    if exponent:
        value *= decimal.Decimal(f"1{exponent}")
    return float(value * _SUFFIXES[suffix or ""])


def _value(body: Any, wanted: str) -> float:
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise QueryError(f"the external metrics API answered without items for {wanted}")
    if not items:
        raise NoValuesFoundError(
            f"the adapter returned no value for {wanted}: it has no series matching the selector"
            " (check the metric name and the labels)"
        )
    if len(items) > 1:
        labels = ", ".join(str(i.get("metricLabels") or {}) for i in items[:5])
        raise MultipleValuesError(
            f"the external metrics API returned {len(items)} values for {wanted}: {labels};"
            " narrow the labelSelector"
        )
    raw = str(items[0].get("value", ""))
    try:
        return quantity(raw)
    except ValueError as err:
        raise QueryError(f"the external metrics API returned {raw!r} for {wanted}: {err}") from err
