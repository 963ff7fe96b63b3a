"""What the Deployment and DaemonSet controllers share: the primary copy and its promotion.

:class:`WorkloadTarget` implements the kind-independent half of :class:`serinus.ports.Target`:
creating ``<target>-primary`` once (:meth:`initialize`), computing the :class:`Revision`, and
copying the target's pod template into the primary (:meth:`promote`). The kind-specific half
(which spec fields are copied, how readiness is judged, how the workload is scaled to zero) lives
in :mod:`serinus.targets.deployment` and :mod:`serinus.targets.daemonset`, as small hooks.

The primary's pod template is the target's with four changes (Flagger, reference §2 step 6):
the selector label's value gets ``-primary``; the ``flagger-id`` annotation gets a fresh UUID
(so every promotion rolls the primary's pods, even for a config-only change); references to
tracked ConfigMaps and Secrets point at their ``-primary`` copies; and pod anti-affinity and
topology-spread selectors that name the target name the primary.

Every method re-reads what it needs and converges: the controller calls ``initialize`` and
``revision`` on every tick, and may repeat any other call after a crash.
"""

from __future__ import annotations

import abc
import copy
import logging
from collections.abc import Iterable
from typing import ClassVar

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import ConflictError, TargetNotFoundError
from serinus.kube import Kube, retry_on_conflict
from serinus.logs import CanaryLogger
from serinus.ports import Clock, Readiness, Revision, SystemClock
from serinus.targets import base, configs, labels, naming, ownership, revision
from serinus.targets.configs import ConfigTracker, Tracked

logger = logging.getLogger(__name__)

_TEMPLATE_HASHES: dict[tuple[type, str, str], str] = {}
"""The template hash of each target version seen (see :meth:`WorkloadTarget._template_hash`)."""
_HASHES_HELD = 10_000

_KEPT_ON_PRIMARY = ("deployment.kubernetes.io/", "deprecated.daemonset.")
"""Annotation prefixes the workload's own controller writes on the primary; promote keeps them."""


class WorkloadTarget(abc.ABC):
    """A workload kind under canary release, and its ``-primary`` copy."""

    kind: ClassVar[str]
    api_version: ClassVar[str] = base.APPS

    def __init__(
        self,
        kube: Kube,
        *,
        selector_labels: Iterable[str] = labels.DEFAULT_SELECTOR_LABELS,
        include_label_prefixes: Iterable[str] = labels.DEFAULT_INCLUDE_PREFIXES,
        config_tracking: bool = True,
        track_secrets: bool = True,
        clock: Clock | None = None,
    ) -> None:
        """
        Args:
            kube: the API client.
            selector_labels: label keys that may carry the target's selector, in order.
            include_label_prefixes: metadata key prefixes copied to the primary (``*`` = all).
            config_tracking: track, copy and rewrite the ConfigMaps and Secrets the pods use.
            track_secrets: include Secrets in that (off: the operator never writes a Secret).
            clock: the time readiness deadlines are measured against (the wall clock if None).
        """
        self.kube = kube
        self.selector_labels = tuple(selector_labels)
        self.include_label_prefixes = tuple(include_label_prefixes)
        self.configs = ConfigTracker(
            kube,
            enabled=config_tracking,
            secrets=track_secrets,
            include_label_prefixes=self.include_label_prefixes,
        )
        self.clock: Clock = clock or SystemClock()

    # --- reading -------------------------------------------------------------------------------

    async def target(self, canary: Canary) -> Manifest:
        """The target workload; TargetNotFoundError naming it when absent."""
        name = canary.spec.target_ref.name
        found = await self.kube.get(self.api_version, self.kind, name, canary.namespace)
        if found is None:
            what = naming.where(self.kind, canary.namespace, name)
            raise TargetNotFoundError(f"{what} not found")
        return found

    async def primary(self, canary: Canary) -> Manifest | None:
        name = naming.primary(canary.spec.target_ref.name)
        return await self.kube.get(self.api_version, self.kind, name, canary.namespace)

    async def require_primary(self, canary: Canary) -> Manifest:
        name = naming.primary(canary.spec.target_ref.name)
        return await base.require(self.kube, self.api_version, self.kind, canary.namespace, name)

    # --- the Target port (kind-independent half) -----------------------------------------------

    async def initialize(self, canary: Canary) -> None:
        """Create ``<target>-primary`` and its configs when absent. Idempotent.

        Refuses (TargetError, permanent) a target another controller keeps, and a primary that
        is not this Canary's (:mod:`serinus.targets.ownership`).
        """
        target = await self.target(canary)
        ownership.check_target(canary, target, kind=self.kind)
        self.check(canary, target)
        key, value = labels.selector_label(target, self.selector_labels)
        primary = await self.primary(canary)
        if primary is not None:
            ownership.check_primary(canary, primary, kind=self.kind)
        else:
            tracked = await self.configs.tracked(canary.namespace, base.pod_spec(target))
            await self.configs.copy_to_primary(canary, tracked)
            await self._create_primary(canary, target, key, value, tracked)
        await self.initialized(canary)

    async def revision(self, canary: Canary) -> Revision:
        """The hash of the target's pod template and the checksums of its tracked configs."""
        target = await self.target(canary)
        tracked = await self.configs.tracked(canary.namespace, base.pod_spec(target))
        checksums = {key: config.checksum for key, config in tracked.items()}
        return Revision(self._template_hash(target), checksums)

    def _template_hash(self, target: Manifest) -> str:
        """The hash of the target's pod template, remembered by the target's uid and
        resourceVersion (the same version of an object is the same template: every tick asks,
        and copying and serializing the template was a good part of a tick's own work)."""
        meta = target.get("metadata") or {}
        uid, version = meta.get("uid"), meta.get("resourceVersion")
        key = (type(self), str(uid), str(version)) if uid and version else None
        found = _TEMPLATE_HASHES.get(key) if key is not None else None
        if found is None:
            template = self.template_for_hash(copy.deepcopy(target["spec"].get("template") or {}))
            found = revision.template_hash(template)
            if key is not None:
                if len(_TEMPLATE_HASHES) >= _HASHES_HELD:
                    _TEMPLATE_HASHES.clear()
                _TEMPLATE_HASHES[key] = found
        return found

    async def promote(self, canary: Canary) -> None:
        """Copy the target's template, configs and metadata to the primary.

        Repeating it converges to the same primary, except that each call writes a fresh
        ``flagger-id`` and so rolls the primary's pods once more (as Flagger's does).
        """
        target = await self.target(canary)
        key, value = labels.selector_label(target, self.selector_labels)
        tracked = await self.configs.tracked(canary.namespace, base.pod_spec(target))
        await self.configs.copy_to_primary(canary, tracked)

        def with_target(primary: Manifest) -> Manifest:
            updated = copy.deepcopy(primary)
            meta = updated["metadata"]
            meta["labels"] = labels.primary_labels(
                labels.copied(target["metadata"].get("labels"), self.include_label_prefixes),
                key,
                naming.primary(value),
            )
            own = {
                k: v
                for k, v in (meta.get("annotations") or {}).items()
                if k.startswith(_KEPT_ON_PRIMARY)
            }
            wanted = labels.copied(
                target["metadata"].get("annotations"), self.include_label_prefixes
            )
            meta["annotations"] = {**own, **wanted}
            self.promote_spec(canary, updated["spec"], target["spec"])
            updated["spec"]["template"] = self._primary_template(target, key, value, tracked)
            return updated

        await retry_on_conflict(
            lambda: self.require_primary(canary), with_target, self.kube.replace
        )
        await self.promoted(canary)

    async def promotion_stops_primary(self, canary: Canary) -> bool:
        """The primary rolls its pods in its own way: it keeps serving while promoted."""
        return False

    # --- building the primary ------------------------------------------------------------------

    async def _create_primary(
        self, canary: Canary, target: Manifest, key: str, value: str, tracked: Tracked
    ) -> None:
        name = naming.primary(canary.spec.target_ref.name)
        meta = target["metadata"]
        spec = self.primary_spec(canary, target["spec"])
        spec["selector"] = {"matchLabels": {key: naming.primary(value)}}
        spec["template"] = self._primary_template(target, key, value, tracked)
        manifest: Manifest = {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": {
                "name": name,
                "namespace": canary.namespace,
                "labels": labels.primary_labels(
                    labels.copied(meta.get("labels"), self.include_label_prefixes),
                    key,
                    naming.primary(value),
                ),
                "annotations": labels.copied(meta.get("annotations"), self.include_label_prefixes),
                "ownerReferences": [base.owner_reference(canary)],
            },
            "spec": spec,
        }
        try:
            await self.kube.create(manifest)
        except ConflictError:  # created meanwhile (another replica, a retried tick): same result
            return
        log = CanaryLogger(logger, canary=canary.key)
        log.info("%s %s created", self.kind, naming.dotted(name, canary.namespace))

    def _primary_template(
        self, target: Manifest, key: str, value: str, tracked: Tracked
    ) -> Manifest:
        source = copy.deepcopy(target["spec"].get("template") or {})
        source_meta = source.get("metadata") or {}
        annotations = {
            k: v
            for k, v in (source_meta.get("annotations") or {}).items()
            if k != naming.FLAGGER_ID
        }
        annotations[naming.FLAGGER_ID] = naming.new_flagger_id()
        pod_spec = source.get("spec") or {}
        configs.rewrite(pod_spec, tracked)
        labels.point_selectors_at_primary(
            pod_spec, keys=self.selector_labels, target=target["metadata"]["name"]
        )
        self.adjust_primary_pod_spec(pod_spec)
        return {
            "metadata": {
                "labels": labels.primary_labels(
                    source_meta.get("labels"), key, naming.primary(value)
                ),
                "annotations": annotations,
            },
            "spec": pod_spec,
        }

    # --- kind-specific hooks -------------------------------------------------------------------

    def check(self, canary: Canary, target: Manifest) -> None:
        """Refuse a target this kind cannot release (raise TargetError)."""
        return None

    @abc.abstractmethod
    def primary_spec(self, canary: Canary, target_spec: Manifest) -> Manifest:
        """The new primary's spec fields other than selector and template."""

    @abc.abstractmethod
    def promote_spec(self, canary: Canary, primary_spec: Manifest, target_spec: Manifest) -> None:
        """Copy the target's rollout settings into the primary's spec (in place)."""

    def adjust_primary_pod_spec(self, pod_spec: Manifest) -> None:
        """Last changes to the primary's pod spec (in place)."""
        return None

    def template_for_hash(self, template: Manifest) -> Manifest:
        """The target's pod template as hashed (without what serinus itself changes on it)."""
        return template

    async def initialized(self, canary: Canary) -> None:
        """Called at the end of every :meth:`initialize`."""
        return None

    async def promoted(self, canary: Canary) -> None:
        """Called at the end of every :meth:`promote`."""
        return None

    @abc.abstractmethod
    async def is_primary_ready(self, canary: Canary) -> Readiness: ...

    @abc.abstractmethod
    async def is_canary_ready(self, canary: Canary) -> Readiness: ...

    @abc.abstractmethod
    async def scale_to_zero(self, canary: Canary) -> None: ...

    @abc.abstractmethod
    async def scale_from_zero(self, canary: Canary) -> None: ...

    @abc.abstractmethod
    async def finalize(self, canary: Canary) -> None: ...


def copy_fields(fields: Iterable[str], source: Manifest, into: Manifest) -> None:
    """Set each field of ``into`` to ``source``'s, removing it where ``source`` has none."""
    for field in fields:
        if field in source:
            into[field] = copy.deepcopy(source[field])
        else:
            into.pop(field, None)
