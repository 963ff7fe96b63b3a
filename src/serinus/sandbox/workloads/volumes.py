"""Pod volumes on the sandbox's node: persistent volume claims and emptyDirs as directories.

A claim's data lives in ``<sandbox>/volumes/<namespace>/<claim>/``, keyed by the claim and not by
the pod, so it outlives the pod: a StatefulSet's ``web-0`` finds the files its predecessor wrote
in ``data-web-0``. The directory is made when the claim is bound (:func:`provision`) and removed
only when the PersistentVolumeClaim object is deleted (the ``Delete`` reclaim policy of a dynamic
provisioner). An ``emptyDir`` lives in the pod's directory and goes with the pod.

Each container sees its ``volumeMounts`` at their ``mountPath`` through bind mounts made in the
private mount namespace its command already runs in (:meth:`serinus.sandbox.names.Isolation.wrap`),
so the machine's own filesystem never shows them; a missing mount point is created on the machine
(an empty directory) because a bind mount needs one. ``kubectl exec`` gets the same mounts, in
the same order (:func:`ordered`). Other volume types (configMap, secret, projected, hostPath) are
not mounted.
"""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Sequence

from serinus.apis.base import Manifest
from serinus.sandbox.workloads.layout import SandboxDir

Mount = tuple[pathlib.Path, str]
"""(directory on the machine, mountPath in the container)."""


def claim_dir(layout: SandboxDir, namespace: str, claim: str) -> pathlib.Path:
    return layout.root / "volumes" / namespace / claim


def provision(layout: SandboxDir, namespace: str, claim: str) -> pathlib.Path:
    """The claim's directory, made when missing (what a provisioner does when it binds)."""
    path = claim_dir(layout, namespace, claim)
    path.mkdir(parents=True, exist_ok=True)
    return path


def release(layout: SandboxDir, namespace: str, claim: str) -> None:
    """The claim was deleted: its data goes (reclaim policy Delete)."""
    shutil.rmtree(claim_dir(layout, namespace, claim), ignore_errors=True)


def mounts(layout: SandboxDir, pod: Manifest, container: str | None) -> list[Mount]:
    """The bind mounts of one container of ``pod`` (its first container when None)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    chosen = next((c for c in containers if c.get("name") == container), None)
    if chosen is None:
        chosen = containers[0] if containers and container is None else {}
    volumes = {v.get("name"): v for v in spec.get("volumes") or [] if isinstance(v, dict)}
    found: list[Mount] = []
    for mount in chosen.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name")) or {}
        source: pathlib.Path | None = None
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            source = provision(layout, namespace, str(claim))
        elif "emptyDir" in volume:
            source = layout.pod(namespace, name) / "volumes" / str(mount.get("name"))
            source.mkdir(parents=True, exist_ok=True)
        if source is not None and mount.get("mountPath"):
            sub = str(mount.get("subPath") or "")
            if sub:
                source = source / sub
                source.mkdir(parents=True, exist_ok=True)
            found.append((source.resolve(), str(mount["mountPath"])))
    return found


def ordered(found: Sequence[Mount]) -> list[Mount]:
    """``found`` in an order that lets every bind mount succeed: a mount over a folder that holds
    the source of another (an emptyDir at ``/tmp`` while the sandbox lives in ``/tmp``) goes
    last, or the later ``mount --bind`` would no longer find its source."""

    def hides(mount: Mount) -> bool:
        point = mount[1].rstrip("/") + "/"
        return any(str(source).startswith(point) for source, _ in found)

    return sorted(found, key=hides)
