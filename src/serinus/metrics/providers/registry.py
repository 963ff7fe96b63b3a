"""Which module builds the backend of a MetricTemplate's ``spec.provider.type``.

One explicit table: a new backend is a module under ``serinus.metrics.providers`` and one line here.
A type missing from the table raises :class:`~serinus.errors.UnknownProviderError`
("metric provider foo is not supported"): Flagger quietly runs unknown types as Prometheus, which
turns a typo into confusing PromQL errors against the wrong server. Every type of Flagger's CRD has
a backend; :data:`NOT_SUPPORTED` lists the CRD's types without one (none today), so the docs and
tests can name them should Flagger add one.
"""

from __future__ import annotations

from collections.abc import Callable

from serinus.apis.metric_template import TEMPLATE_PROVIDERS
from serinus.errors import UnknownProviderError
from serinus.metrics.providers.base import Provider, ProviderSettings
from serinus.metrics.providers.cloudwatch import CloudWatchProvider
from serinus.metrics.providers.datadog import DatadogProvider
from serinus.metrics.providers.dynatrace import DynatraceProvider
from serinus.metrics.providers.externalmetrics import ExternalMetricsProvider
from serinus.metrics.providers.graphite import GraphiteProvider
from serinus.metrics.providers.influxdb import InfluxdbProvider
from serinus.metrics.providers.keptn import KeptnProvider
from serinus.metrics.providers.newrelic import NewRelicProvider
from serinus.metrics.providers.prometheus import PrometheusProvider
from serinus.metrics.providers.splunk import SplunkProvider
from serinus.metrics.providers.stackdriver import StackdriverProvider

PROVIDERS: dict[str, Callable[[ProviderSettings], Provider]] = {
    "prometheus": PrometheusProvider,
    "datadog": DatadogProvider,
    "newrelic": NewRelicProvider,
    "graphite": GraphiteProvider,
    "influxdb": InfluxdbProvider,
    "cloudwatch": CloudWatchProvider,
    "stackdriver": StackdriverProvider,
    "dynatrace": DynatraceProvider,
    "keptn": KeptnProvider,
    "splunk": SplunkProvider,
    "externalmetrics": ExternalMetricsProvider,
}

NOT_SUPPORTED = tuple(kind for kind in TEMPLATE_PROVIDERS if kind not in PROVIDERS)


def factory(kind: str) -> Callable[[ProviderSettings], Provider]:
    """What builds a backend of type ``kind``; UnknownProviderError when serinus has none."""
    if kind not in PROVIDERS:
        raise UnknownProviderError("metric provider", kind)
    return PROVIDERS[kind]


def create(settings: ProviderSettings) -> Provider:
    """The backend for ``settings.kind``; UnknownProviderError when serinus has none."""
    return factory(settings.kind)(settings)
