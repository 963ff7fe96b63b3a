"""The target's autoscaler (``spec.autoscalerRef``): its primary copy, pausing and resuming it.

Two kinds, as in Flagger 1.44: ``HorizontalPodAutoscaler`` (``autoscaling/v2``) and KEDA's
``ScaledObject`` (``keda.sh/v1alpha1``); any other kind is an
:class:`~serinus.errors.UnknownProviderError`. For both, ``<name>-primary`` is a copy of the
target's autoscaler that scales ``<target>-primary`` instead (``primaryScalerReplicas``
overrides its bounds; a ScaledObject's trigger queries name the primary, from
``primaryScalerQueries`` or by replacing the target's name in the query), owned by the Canary.

The copy is brought in line with the target's autoscaler on every initialization tick and on
promotion, and written only when it differs. Flagger updates it only on promotion, so an HPA
change waited for the next release (Flagger #591); an autoscaler is not part of the pod template
and is never analysed, so there is nothing to wait for.

Pausing while the target is scaled to zero:

* HPA: nothing is written. Kubernetes' HPA controller does not act on a workload whose
  ``spec.replicas`` is 0 (its ``ScalingActive`` condition turns False with reason
  ``ScalingDisabled``) until something else scales it up again, which is what
  ``scale_from_zero`` does. Flagger relies on this too, and leaving the target's HPA untouched
  keeps GitOps tools from seeing drift on it.
* ScaledObject: KEDA does scale from zero, so the target's ScaledObject is annotated
  ``autoscaling.keda.sh/paused-replicas: "0"`` and the annotation is removed to resume.
"""

from __future__ import annotations

import abc
import copy
import logging

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import UnknownProviderError
from serinus.kube import Kube
from serinus.logs import CanaryLogger
from serinus.targets import base, labels, naming

logger = logging.getLogger(__name__)


class Autoscaler(abc.ABC):
    """The autoscaler of one Canary's target."""

    api_version: str
    kind: str

    def __init__(self, kube: Kube, canary: Canary, *, include_label_prefixes: tuple[str, ...]):
        if canary.spec.autoscaler_ref is None:
            raise ValueError("canary: expected spec.autoscalerRef, found none")
        self.kube = kube
        self.canary = canary
        self.ref = canary.spec.autoscaler_ref
        self.include_label_prefixes = include_label_prefixes
        self.log = CanaryLogger(logger, canary=canary.key)

    async def source(self) -> Manifest:
        """The target's autoscaler; NotFoundError when it does not exist."""
        return await base.require(
            self.kube, self.api_version, self.kind, self.canary.namespace, self.ref.name
        )

    async def min_replicas(self) -> int | None:
        """The target autoscaler's lower bound, if it has one."""
        return None

    async def pause(self) -> None:
        """Keep the autoscaler from scaling the target up while it is at zero."""
        return None

    async def resume(self) -> None:
        """Let the autoscaler scale the target again."""
        return None

    @abc.abstractmethod
    def primary_spec(self, spec: Manifest) -> Manifest:
        """The primary autoscaler's spec, made from the target autoscaler's."""

    async def reconcile_primary(self) -> None:
        """Create ``<name>-primary``, or update it when it differs from the target's."""
        source = await self.source()
        meta = source.get("metadata", {})
        annotations = labels.copied(meta.get("annotations"), self.include_label_prefixes)
        annotations.pop(naming.KEDA_PAUSED, None)
        name = naming.primary(self.ref.name)
        desired: Manifest = {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": {
                "name": name,
                "namespace": self.canary.namespace,
                "labels": labels.copied(meta.get("labels"), self.include_label_prefixes),
                "annotations": annotations,
                "ownerReferences": [base.owner_reference(self.canary)],
            },
            "spec": self.primary_spec(copy.deepcopy(source.get("spec") or {})),
        }
        current = await self.kube.get(self.api_version, self.kind, name, self.canary.namespace)
        if current is not None and _same(current, desired):
            return
        await base.upsert(self.kube, desired)
        action = "created" if current is None else "updated"
        self.log.info("%s %s %s", self.kind, naming.dotted(name, self.canary.namespace), action)

    def _primary_target(self, spec: Manifest) -> None:
        target = dict(spec.get("scaleTargetRef") or {})
        target["name"] = naming.primary(self.canary.spec.target_ref.name)
        spec["scaleTargetRef"] = target


class HorizontalPodAutoscaler(Autoscaler):
    """An ``autoscaling/v2`` HorizontalPodAutoscaler; pausing needs no write (see the module)."""

    api_version = "autoscaling/v2"
    kind = "HorizontalPodAutoscaler"

    def primary_spec(self, spec: Manifest) -> Manifest:
        self._primary_target(spec)
        bounds = self.ref.primary_scaler_replicas
        if bounds is not None and bounds.min_replicas is not None:
            spec["minReplicas"] = bounds.min_replicas
        if bounds is not None and bounds.max_replicas is not None:
            spec["maxReplicas"] = bounds.max_replicas
        return spec

    async def min_replicas(self) -> int | None:
        found = (await self.source()).get("spec", {}).get("minReplicas")
        return found if isinstance(found, int) else None


class ScaledObject(Autoscaler):
    """A KEDA ScaledObject, paused with ``autoscaling.keda.sh/paused-replicas: "0"``."""

    api_version = "keda.sh/v1alpha1"
    kind = "ScaledObject"

    def primary_spec(self, spec: Manifest) -> Manifest:
        self._primary_target(spec)
        target = self.canary.spec.target_ref.name
        queries = self.ref.primary_scaler_queries or {}
        for trigger in spec.get("triggers") or []:
            metadata = trigger.get("metadata")
            if not isinstance(metadata, dict):
                continue
            if trigger.get("name") in queries:
                metadata["query"] = queries[trigger["name"]]
            elif isinstance(metadata.get("query"), str):
                metadata["query"] = metadata["query"].replace(target, naming.primary(target))
        hpa_config = (spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}
        if isinstance(hpa_config.get("name"), str):  # two ScaledObjects cannot share one HPA
            hpa_config["name"] = naming.primary(hpa_config["name"])
        bounds = self.ref.primary_scaler_replicas
        if bounds is not None and bounds.min_replicas is not None:
            spec["minReplicaCount"] = bounds.min_replicas
        if bounds is not None and bounds.max_replicas is not None:
            spec["maxReplicaCount"] = bounds.max_replicas
        return spec

    async def min_replicas(self) -> int | None:
        found = (await self.source()).get("spec", {}).get("minReplicaCount")
        return found if isinstance(found, int) else None

    async def pause(self) -> None:
        await self._annotate("0")

    async def resume(self) -> None:
        await self._annotate(None)

    async def _annotate(self, value: str | None) -> None:
        current = (await self.source()).get("metadata", {}).get("annotations") or {}
        if current.get(naming.KEDA_PAUSED) == value:
            return
        patch = {"metadata": {"annotations": {naming.KEDA_PAUSED: value}}}
        await self.kube.patch(
            self.api_version, self.kind, self.ref.name, self.canary.namespace, patch
        )


KINDS: dict[str, type[Autoscaler]] = {
    "HorizontalPodAutoscaler": HorizontalPodAutoscaler,
    "ScaledObject": ScaledObject,
}


def autoscaler_for(
    kube: Kube, canary: Canary, *, include_label_prefixes: tuple[str, ...] = ("*",)
) -> Autoscaler | None:
    """The Canary's autoscaler, None without ``autoscalerRef``; UnknownProviderError if unknown."""
    ref = canary.spec.autoscaler_ref
    if ref is None:
        return None
    kind = ref.kind or ""
    if kind not in KINDS:
        raise UnknownProviderError("autoscaler kind", kind or "(none)")
    return KINDS[kind](kube, canary, include_label_prefixes=include_label_prefixes)


def _same(current: Manifest, desired: Manifest) -> bool:
    meta, wanted = current.get("metadata", {}), desired["metadata"]
    return bool(
        current.get("spec") == desired["spec"]
        and (meta.get("labels") or {}) == wanted["labels"]
        and (meta.get("annotations") or {}) == wanted["annotations"]
    )
