"""Which module builds the backend of a MetricTemplate's ``spec.provider.type``.

One explicit table: a new backend is a module under ``serinus.metrics.providers`` and one line here
(imported when a template first asks for its type).
A type missing from the table raises :class:`~serinus.errors.UnknownProviderError`
("metric provider foo is not supported"): Flagger quietly runs unknown types as Prometheus, which
turns a typo into confusing PromQL errors against the wrong server. Every type of Flagger's CRD has
a backend; :data:`NOT_SUPPORTED` lists the CRD's types without one (none today), so the docs and
tests can name them should Flagger add one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from serinus.apis.metric_template import TEMPLATE_PROVIDERS
from serinus.errors import UnknownProviderError
from serinus.metrics.providers.base import Provider, ProviderSettings

PROVIDERS: dict[str, str] = {
    "prometheus": "prometheus:PrometheusProvider",
    "datadog": "datadog:DatadogProvider",
    "newrelic": "newrelic:NewRelicProvider",
    "graphite": "graphite:GraphiteProvider",
    "influxdb": "influxdb:InfluxdbProvider",
    "cloudwatch": "cloudwatch:CloudWatchProvider",
    "stackdriver": "stackdriver:StackdriverProvider",
    "dynatrace": "dynatrace:DynatraceProvider",
    "keptn": "keptn:KeptnProvider",
    "splunk": "splunk:SplunkProvider",
    "externalmetrics": "externalmetrics:ExternalMetricsProvider",
}
"""Type -> ``module:class`` under this package, imported on first use: an operator whose
templates use no CloudWatch or Stackdriver never loads botocore or google-auth (about 20 MB of
its memory)."""

NOT_SUPPORTED = tuple(kind for kind in TEMPLATE_PROVIDERS if kind not in PROVIDERS)


def factory(kind: str) -> Callable[[ProviderSettings], Provider]:
    """What builds a backend of type ``kind``; UnknownProviderError when serinus has none."""
    found = _FACTORIES.get(kind)
    if found is not None:  # every analysis tick asks: the module is imported once
        return found
    if kind not in PROVIDERS:
        raise UnknownProviderError("metric provider", kind)
    module, name = PROVIDERS[kind].split(":")
    built = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    found = _FACTORIES[kind] = cast("Callable[[ProviderSettings], Provider]", built)
    return found


_FACTORIES: dict[str, Callable[[ProviderSettings], Provider]] = {}


def create(settings: ProviderSettings) -> Provider:
    """The backend for ``settings.kind``; UnknownProviderError when serinus has none."""
    return factory(settings.kind)(settings)
