"""Config tracking: the ConfigMaps and Secrets a workload uses, their checksums and primary copies.

A release is more than a pod template: changing a ConfigMap the pods read is a new revision too,
and the primary must keep running on the configuration it was promoted with while the canary
tries the new one. So, as Flagger does (``config_tracker.go``), the workload controllers:

* find every ConfigMap and Secret the pod spec refers to: ``env[].valueFrom``, ``envFrom``,
  ``volumes`` and ``projected`` volume sources, in containers **and** init containers;
* checksum each one's ``data`` (:func:`checksum`) into the Revision (``configmap/<name>``,
  ``secret/<name>`` -> checksum), so a data change starts a run (a ConfigMap's ``binaryData``
  counts too, which Flagger ignores);
* copy each one to ``<name>-primary`` (owned by the Canary) on initialization and promotion, and
  point the primary's pod spec at the copies (:func:`rewrite`).

Left alone (neither tracked, copied nor rewritten): objects annotated
``flagger.app/config-tracking: disabled``, Secrets of other types than Opaque, basic-auth,
ssh-auth and tls (registry credentials belong to service accounts), and missing objects whose
reference says ``optional: true``. One deliberate difference: a missing object whose reference is
not optional is an error naming it. Flagger skips it when ``optional`` is unset, but such pods
cannot start on Kubernetes anyway, and a named error says why sooner than a stuck rollout.

With tracking disabled (Flagger's ``-enable-config-tracking=false``), nothing is tracked and the
primary uses the target's ConfigMaps and Secrets as they are. With Secrets left out
(``--no-track-secrets``, the charts' default, so that the operator only ever reads Secrets), the
Secrets are treated as if annotated ``config-tracking: disabled``: not read, not copied, the
primary uses them as they are, and a change to one starts no analysis.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.errors import TargetError
from serinus.kube import Kube
from serinus.logs import CanaryLogger
from serinus.targets import base, labels, naming

logger = logging.getLogger(__name__)

ConfigKind = Literal["configmap", "secret"]

TRACKED_SECRET_TYPES = frozenset(
    {
        "Opaque",
        "kubernetes.io/basic-auth",
        "kubernetes.io/ssh-auth",
        "kubernetes.io/tls",
    }
)

_API_KIND: dict[ConfigKind, str] = {"configmap": "ConfigMap", "secret": "Secret"}


@dataclasses.dataclass(frozen=True)
class ConfigRef:
    """A ConfigMap or Secret named in a pod spec."""

    kind: ConfigKind
    name: str

    @property
    def key(self) -> str:
        """``configmap/<name>`` or ``secret/<name>``, as in ``status.trackedConfigs``."""
        return f"{self.kind}/{self.name}"


@dataclasses.dataclass(frozen=True)
class TrackedConfig:
    """A tracked ConfigMap or Secret as read now, with the checksum of its data."""

    ref: ConfigRef
    checksum: str
    source: Manifest


Tracked = dict[str, TrackedConfig]
"""Tracked configs by :attr:`ConfigRef.key`."""


def checksum(data: Any) -> str:
    """sha256 of the data as Go's ``encoding/json`` writes it, first 8 bytes in hex.

    Go sorts map keys, writes no whitespace and escapes ``<``, ``>``, ``&``, U+2028 and U+2029;
    Secrets' data is already base64 text as the API returns it, as Go encodes ``[]byte``.
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return hashlib.sha256(text.encode("utf-8")).digest()[:8].hex()


def references(pod_spec: Manifest) -> dict[ConfigRef, bool]:
    """Every ConfigMap/Secret the pod spec names -> whether all its references are optional."""
    found: dict[ConfigRef, bool] = {}
    for source, kind, field in _sources(pod_spec):
        ref = ConfigRef(kind, str(source.get(field, "")))
        found[ref] = found.get(ref, True) and bool(source.get("optional"))
    return found


def rewrite(pod_spec: Manifest, tracked: Tracked) -> None:
    """Point every reference to a tracked config at its ``-primary`` copy (in place)."""
    for source, kind, field in _sources(pod_spec):
        if ConfigRef(kind, str(source.get(field, ""))).key in tracked:
            source[field] = naming.primary(source[field])


def _sources(pod_spec: Manifest) -> Iterator[tuple[Manifest, ConfigKind, str]]:
    """Each place a pod spec names a config: (the mapping holding the name, kind, name field)."""
    for volume in pod_spec.get("volumes") or []:
        if source := volume.get("configMap"):
            yield source, "configmap", "name"
        if source := volume.get("secret"):
            yield source, "secret", "secretName"
        for projected in (volume.get("projected") or {}).get("sources") or []:
            if source := projected.get("configMap"):
                yield source, "configmap", "name"
            if source := projected.get("secret"):
                yield source, "secret", "name"
    containers = [*(pod_spec.get("containers") or []), *(pod_spec.get("initContainers") or [])]
    for container in containers:
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") or {}
            if source := value_from.get("configMapKeyRef"):
                yield source, "configmap", "name"
            if source := value_from.get("secretKeyRef"):
                yield source, "secret", "name"
        for env_from in container.get("envFrom") or []:
            if source := env_from.get("configMapRef"):
                yield source, "configmap", "name"
            if source := env_from.get("secretRef"):
                yield source, "secret", "name"


def tracking_disabled(obj: Manifest) -> bool:
    """Whether the object opted out with ``flagger.app/config-tracking: disabled``."""
    annotations = obj.get("metadata", {}).get("annotations") or {}
    return str(annotations.get(naming.CONFIG_TRACKING, "")).startswith("disable")


def _checksum_of(obj: Manifest) -> str:
    """The checksum of ``data`` (Flagger's); ConfigMaps with ``binaryData`` include it too."""
    if obj.get("binaryData"):
        return checksum({"binaryData": obj["binaryData"], "data": obj.get("data")})
    return checksum(obj.get("data"))


class ConfigTracker:
    """Reads, checksums and copies the configs of one namespace's workloads."""

    def __init__(
        self,
        kube: Kube,
        *,
        enabled: bool = True,
        secrets: bool = True,
        include_label_prefixes: Iterable[str] = ("*",),
    ) -> None:
        self.kube = kube
        self.enabled = enabled
        self.secrets = secrets
        self.include_label_prefixes = tuple(include_label_prefixes)

    async def tracked(self, namespace: str, pod_spec: Manifest) -> Tracked:
        """The configs the pod spec uses that are tracked, as stored now."""
        if not self.enabled:
            return {}
        result: Tracked = {}
        for ref, optional in sorted(references(pod_spec).items(), key=lambda i: i[0].key):
            if ref.kind == "secret" and not self.secrets:
                continue
            obj = await self.kube.get("v1", _API_KIND[ref.kind], ref.name, namespace)
            if obj is None:
                if optional:
                    continue
                where = naming.where(_API_KIND[ref.kind], namespace, ref.name)
                raise TargetError(
                    f"{where} not found: the pod template refers to it without optional: true"
                )
            if tracking_disabled(obj):
                continue
            if ref.kind == "secret" and obj.get("type", "Opaque") not in TRACKED_SECRET_TYPES:
                continue
            result[ref.key] = TrackedConfig(ref, _checksum_of(obj), obj)
        return result

    async def copy_to_primary(self, canary: Canary, tracked: Tracked) -> None:
        """Create or update ``<name>-primary`` for every tracked config, owned by the Canary."""
        log = CanaryLogger(logger, canary=canary.key)
        for config in tracked.values():
            source = config.source
            kind = _API_KIND[config.ref.kind]
            copy: Manifest = {
                "apiVersion": "v1",
                "kind": kind,
                "metadata": {
                    "name": naming.primary(config.ref.name),
                    "namespace": canary.namespace,
                    "labels": labels.copied(
                        source["metadata"].get("labels"), self.include_label_prefixes
                    ),
                    "ownerReferences": [base.owner_reference(canary)],
                },
            }
            for field in ("type", "data", "binaryData"):
                if field in source:
                    copy[field] = source[field]
            await base.upsert(self.kube, copy)
            log.info("%s %s synced", kind, naming.primary(config.ref.name))
