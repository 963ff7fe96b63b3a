"""The MetricTemplate resource: a query against a metrics backend, reused by Canaries.

The query is a template: ``{{ namespace }}``, ``{{ name }}``, ``{{ target }}``, ``{{ service }}``,
``{{ ingress }}``, ``{{ route }}``, ``{{ interval }}`` and ``{{ variables.<key> }}`` are filled in
per Canary and metric (:mod:`serinus.metrics.templating`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal, get_args

from pydantic_core import PydanticCustomError

from serinus.apis.analysis import SecretRef
from serinus.apis.base import ApiModel, CheckedModel, ObjectMeta, problem

ProviderType = Literal[
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
"""Every type Flagger's CRD accepts; serinus has a backend for each (docs/metrics.md)."""
TEMPLATE_PROVIDERS: tuple[str, ...] = get_args(ProviderType)


class MetricTemplateProvider(CheckedModel):
    """The backend a template's query runs against."""

    type: ProviderType
    address: str | None = None
    """API address of the backend, e.g. http://prometheus.monitoring:9090."""
    headers: dict[str, str] | None = None
    """Extra HTTP headers sent with each query."""
    secret_ref: SecretRef | None = None
    """Credentials: token, or username and password (keys depend on the type)."""
    insecure_skip_verify: bool | None = None
    """Skip TLS certificate verification."""
    region: str | None = None
    """AWS region of the metrics (cloudwatch; required there)."""

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        kind = raw.get("type")
        if kind == "cloudwatch" and not raw.get("region"):
            yield problem("region", "the AWS region of the CloudWatch metrics", None)
        if kind in ("dynatrace", "splunk") and not raw.get("address"):
            yield problem("address", f"the {kind} API address", None)
        if kind in _SECRET_KEYS and not raw.get("secretRef"):
            keys = _SECRET_KEYS[kind]
            yield problem("secretRef", f"a Secret with the key(s) {keys}", None)


_SECRET_KEYS = {
    "stackdriver": "project (and serviceAccountKey)",
    "dynatrace": "dynatrace_token",
    "splunk": "sf_token_key",
}
"""The backends that cannot run without their Secret (docs/metrics.md)."""


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
