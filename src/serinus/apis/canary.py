"""The Canary resource: what to release (``targetRef``), how to route (``service``, ``provider``)
and how to judge it (``analysis``).

Both API versions Flagger serves are read: ``flagger.app/v1beta1`` and the older ``v1alpha3``, which
names the analysis ``canaryAnalysis`` and gives metrics a single ``threshold``. Both parse into the
same :class:`Canary`; :meth:`CanarySpec.effective_analysis` hands the controller one analysis
whichever way it was written (``analysis`` wins when both are present, as in Flagger).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from serinus.apis.analysis import CanaryAnalysis
from serinus.apis.base import ApiModel, CheckedModel, ObjectMeta, problem
from serinus.apis.service import CanaryService
from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.errors import InvalidCanaryError

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
KNATIVE_API_VERSION = "serving.knative.dev/v1"
"""A ``targetRef`` of kind Service in this API version is a Knative Service."""
PRIMARY_REVISION_ANNOTATION = "flagger.app/primary-revision"
"""On a Knative Service target: the revision that serves as the primary (Flagger's annotation)."""


class TargetRef(ApiModel):
    """The workload being released."""

    api_version: str | None = None
    kind: Literal["Deployment", "DaemonSet", "StatefulSet", "Service"]
    """Deployment, DaemonSet, StatefulSet (serinus; Flagger has none) or Service."""
    name: Annotated[str, Field(min_length=1)]

    @property
    def is_knative_service(self) -> bool:
        """Whether the target is a Knative Service (``serving.knative.dev/v1``), as in Flagger."""
        return self.kind == "Service" and self.api_version == KNATIVE_API_VERSION


class StatefulSetOptions(ApiModel):
    """serinus: how a StatefulSet target's pods are replaced (docs/statefulsets.md)."""

    unready_pods: Literal["delete", "scaleFromZero"] | None = None
    """What keeps a pod that never becomes ready from stopping a rollout for ever.
    delete (the default): serinus deletes the pods that are not ready and not at the
    StatefulSet's update revision, so its ordered rolling update can go on.
    scaleFromZero: on promotion the primary is scaled to zero, updated, and scaled back up in
    order, after all traffic was routed to the canary."""

    @property
    def effective_unready_pods(self) -> str:
        return self.unready_pods or "delete"


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


class CanarySpec(CheckedModel):
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
    service_spec: CanaryService | None = Field(default=None, alias="service")
    """The Services to generate (required, except for a Knative Service target)."""
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
    stateful_set: StatefulSetOptions | None = None
    """serinus: options of a StatefulSet target."""

    @classmethod
    def check(cls, raw: Mapping[str, Any]) -> Iterator[PydanticCustomError]:
        target = raw.get("targetRef")
        knative = (
            isinstance(target, Mapping)
            and target.get("kind") == "Service"
            and target.get("apiVersion") == KNATIVE_API_VERSION
        )
        if raw.get("service") is None and not knative:
            yield problem("service", "a value (the field is required)", None, found_text="nothing")
        provider = raw.get("provider")
        if knative and provider not in (None, "knative"):
            yield problem("provider", "knative for a Knative Service target", provider)
        if provider == "knative" and not knative and isinstance(target, Mapping):
            yield problem(
                "targetRef",
                f"a Knative Service (kind Service, apiVersion {KNATIVE_API_VERSION}) for "
                "provider knative",
                None,
                found_text=f"{target.get('kind')} {target.get('apiVersion') or ''}".strip(),
            )
        if knative and raw.get("autoscalerRef") is not None:
            yield problem(
                "autoscalerRef",
                "none for a Knative Service (Knative scales it)",
                None,
                found_text="an autoscaler",
            )
        kind = target.get("kind") if isinstance(target, Mapping) else None
        if raw.get("statefulSet") is not None and kind != "StatefulSet":
            yield problem(
                "statefulSet", "no statefulSet options for a target that is not a StatefulSet", kind
            )

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
    def service(self) -> CanaryService:
        """``spec.service``; InvalidCanaryError for a Knative Canary, which has none."""
        if self.service_spec is None:
            raise InvalidCanaryError(
                "spec.service: expected a value (the field is required unless the target is a "
                f"Knative Service), found nothing (targetRef {self.target_ref.kind} "
                f"{self.target_ref.api_version or ''})"
            )
        return self.service_spec

    @property
    def service_name(self) -> str:
        """The apex Service's name: ``spec.service.name``, else the target's."""
        named = self.service_spec.name if self.service_spec is not None else None
        return named or self.target_ref.name


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

    def session_cookies(self) -> tuple[str, str | None] | None:
        """The run's session-affinity cookies, ``(canary, primary)`` as ``name=token`` (the
        primary's None without ``primaryCookieName``); None without session affinity.

        The tokens are derived from what identifies the run (this Canary's uid, the revision
        and the run's start time in the status), so the controller writing them to the status
        and a router writing routes before it did agree.
        """
        analysis = self.spec.effective_analysis
        affinity = analysis.session_affinity if analysis is not None else None
        if affinity is None:
            return None
        status = self.status or CanaryStatus()
        seed = f"{self.metadata.uid}/{status.last_applied_spec}/{status.analysis_start_time}"
        primary = affinity.cookie(seed, primary=True) if affinity.primary_cookie_name else None
        return affinity.cookie(seed, primary=False), primary

    @property
    def target_key(self) -> str:
        """``target.namespace``, as Flagger names the workload in its messages."""
        return f"{self.spec.target_ref.name}.{self.namespace}"

    @property
    def phase(self) -> CanaryPhase | None:
        """The phase of its status; None before the first status write."""
        return self.status.phase if self.status is not None else None
