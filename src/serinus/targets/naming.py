"""The names and well-known keys the workload controllers share with Flagger.

Users, dashboards and other tools rely on these spellings (``<target>-primary``, the
``flagger-id`` pod annotation, the DaemonSet scale-to-zero node selector, the config-tracking
opt-out annotation), so they are written down once here and nowhere else. Also the two ways
messages name an object: ``Deployment prod/podinfo`` (errors, as ``kubectl`` does) and
``podinfo.prod`` (Flagger's log and event wording).
"""

from __future__ import annotations

import uuid

PRIMARY_SUFFIX = "-primary"
"""Appended to the target's name (and its ConfigMaps, Secrets, autoscaler) for the primary."""

FLAGGER_ID = "flagger-id"
"""Pod annotation given a fresh UUID on every primary write, so each promotion rolls the pods."""

CONFIG_TRACKING = "flagger.app/config-tracking"
"""ConfigMap/Secret annotation; a value starting with ``disable`` leaves the object alone."""

SCALE_TO_ZERO = "flagger.app/scale-to-zero"
"""Node selector key that matches no node: how a DaemonSet is scaled to zero."""

KEDA_PAUSED = "autoscaling.keda.sh/paused-replicas"
"""ScaledObject annotation that makes KEDA hold the workload at the given replica count."""


def primary(name: str) -> str:
    """``<name>-primary``: the primary copy of a workload, ConfigMap, Secret or autoscaler."""
    return f"{name}{PRIMARY_SUFFIX}"


def new_flagger_id() -> str:
    """A random UUID (version 4), as Flagger writes into the ``flagger-id`` annotation."""
    return str(uuid.uuid4())


def where(kind: str, namespace: str, name: str) -> str:
    """``Deployment prod/podinfo``: how errors name an object."""
    return f"{kind} {namespace}/{name}"


def dotted(name: str, namespace: str) -> str:
    """``podinfo.prod``: how Flagger's messages name an object."""
    return f"{name}.{namespace}"
