"""The MetricTemplate resource: a query against a metrics backend, reused by Canaries.

The query is a template: ``{{ namespace }}``, ``{{ name }}``, ``{{ target }}``, ``{{ service }}``,
``{{ ingress }}``, ``{{ route }}``, ``{{ interval }}`` and ``{{ variables.<key> }}`` are filled in
per Canary and metric (:mod:`serinus.metrics.templating`).
"""

from __future__ import annotations

from typing import Literal

from serinus.apis.analysis import SecretRef
from serinus.apis.base import ApiModel, ObjectMeta

TEMPLATE_PROVIDERS = (
    "prometheus",
    "influxdb",
    "datadog",
    "externalmetrics",
    "stackdriver",
    "cloudwatch",
    "newrelic",
    "graphite",
    "dynatrace",
    "keptn",
    "splunk",
)
"""Every type Flagger's CRD accepts; serinus reports the ones it cannot query on the Canary."""


class MetricTemplateProvider(ApiModel):
    """The backend a template's query runs against."""

    type: Literal[
        "prometheus",
        "influxdb",
        "datadog",
        "externalmetrics",
        "stackdriver",
        "cloudwatch",
        "newrelic",
        "graphite",
        "dynatrace",
        "keptn",
        "splunk",
    ]
    address: str | None = None
    """API address of the backend, e.g. http://prometheus.monitoring:9090."""
    headers: dict[str, str] | None = None
    """Extra HTTP headers sent with each query."""
    secret_ref: SecretRef | None = None
    """Credentials: token, or username and password (keys depend on the type)."""
    insecure_skip_verify: bool | None = None
    """Skip TLS certificate verification."""
    region: str | None = None
    """Cloud region (cloudwatch)."""


class MetricTemplateSpec(ApiModel):
    provider: MetricTemplateProvider
    query: str
    """The query template."""


class MetricTemplate(ApiModel):
    """A reusable metric query (flagger.app/v1beta1)."""

    api_version: Literal["flagger.app/v1beta1"] = "flagger.app/v1beta1"
    kind: Literal["MetricTemplate"] = "MetricTemplate"
    metadata: ObjectMeta
    spec: MetricTemplateSpec
