"""The Canary resource: what to release (``targetRef``), how to route (``service``, ``provider``)
and how to judge it (``analysis``).

Both API versions Flagger serves are read: ``flagger.app/v1beta1`` and the older ``v1alpha3``, which
names the analysis ``canaryAnalysis`` and gives metrics a single ``threshold``. Both parse into the
same :class:`Canary`; :meth:`CanarySpec.effective_analysis` hands the controller one analysis
whichever way it was written (``analysis`` wins when both are present, as in Flagger).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from serinus.apis.analysis import CanaryAnalysis
from serinus.apis.base import ApiModel, ObjectMeta, problem
from serinus.apis.service import CanaryService
from serinus.apis.status import CanaryPhase, CanaryStatus

GROUP = "flagger.app"
VERSIONS = ("v1beta1", "v1alpha3")

PROVIDERS = (
    "apisix",
    "appmesh",
    "appmesh:v1beta2",
    "contour",
    "gatewayapi",
    "gatewayapi:v1",
    "gatewayapi:v1beta1",
    "gloo",
    "istio",
    "knative",
    "kubernetes",
    "kuma",
    "linkerd",
    "nginx",
    "osm",
    "skipper",
    "smi:v1alpha1",
    "smi:v1alpha2",
    "smi:v1alpha3",
    "traefik",
)
"""Every provider Flagger's CRD accepts (plus plain gatewayapi); not every one has a router yet."""

DEFAULT_PROGRESS_DEADLINE_SECONDS = 600


class TargetRef(ApiModel):
    """The workload being released."""

    api_version: str | None = None
    kind: Literal["Deployment", "DaemonSet", "Service"]
    name: Annotated[str, Field(min_length=1)]


class LocalRef(ApiModel):
    """A reference to another object in the Canary's namespace."""

    api_version: str | None = None
    kind: str | None = None
    name: str


class CrossNamespaceRef(LocalRef):
    namespace: str | None = None


class PrimaryScalerReplicas(ApiModel):
    min_replicas: int | None = None
    max_replicas: int | None = None


class AutoscalerRef(LocalRef):
    """HorizontalPodAutoscaler (autoscaling/v2) or KEDA ScaledObject of the target."""

    primary_scaler_queries: dict[str, str] | None = None
    primary_scaler_replicas: PrimaryScalerReplicas | None = None


class CanarySpec(ApiModel):
    """What to release, how to route traffic to it and how to judge it."""

    provider: str | None = None
    """Service mesh or ingress; overrides the operator's --mesh-provider."""
    metrics_server: str | None = None
    """Prometheus address for built-in metrics and inline queries; overrides --metrics-server."""
    target_ref: TargetRef
    autoscaler_ref: AutoscalerRef | None = None
    ingress_ref: LocalRef | None = None
    route_ref: LocalRef | None = None
    upstream_ref: CrossNamespaceRef | None = None
    service: CanaryService
    analysis: CanaryAnalysis | None = None
    canary_analysis: CanaryAnalysis | None = None
    """v1alpha3 name of analysis."""
    progress_deadline_seconds: Annotated[int, Field(ge=0)] | None = None
    """Seconds a workload may take to become ready before the run fails; 600 when unset."""
    skip_analysis: bool | None = None
    """Promote a new revision without analysis (it still has to become ready)."""
    revert_on_deletion: bool | None = None
    """On deletion of the Canary, give the target back its replicas and routes."""
    suspend: bool | None = None
    """Skip every step while set; a run in progress is frozen where it is."""

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, provider: str | None) -> str | None:
        if provider is None or provider in PROVIDERS or provider.startswith("smi:v1alpha"):
            return provider
        raise problem(None, f"one of {', '.join(PROVIDERS)}", provider)

    @property
    def effective_analysis(self) -> CanaryAnalysis | None:
        return self.analysis or self.canary_analysis

    @property
    def effective_progress_deadline(self) -> int:
        if self.progress_deadline_seconds is None:
            return DEFAULT_PROGRESS_DEADLINE_SECONDS
        return self.progress_deadline_seconds

    @property
    def service_name(self) -> str:
        return self.service.name or self.target_ref.name


class Canary(ApiModel):
    """A canary release of one workload (flagger.app/v1beta1 or v1alpha3)."""

    api_version: Literal["flagger.app/v1beta1", "flagger.app/v1alpha3"] = "flagger.app/v1beta1"
    kind: Literal["Canary"] = "Canary"
    metadata: ObjectMeta
    spec: CanarySpec
    status: CanaryStatus | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or "default"

    @property
    def key(self) -> str:
        """``name.namespace``, as Flagger names a canary in logs and gate keys."""
        return f"{self.name}.{self.namespace}"

    @property
    def target_key(self) -> str:
        """``target.namespace``, as Flagger names the workload in its messages."""
        return f"{self.spec.target_ref.name}.{self.namespace}"

    @property
    def phase(self) -> CanaryPhase | None:
        """The phase of its status; None before the first status write."""
        return self.status.phase if self.status is not None else None
