"""Labels and annotations of the objects serinus copies: which are copied, which are rewritten.

Used by every workload controller and by the config and autoscaler copies. The rules follow
Flagger (reference §2 step 6):

* the selector label is the first of the operator's ``selector_labels`` (default ``app``,
  ``name``, ``app.kubernetes.io/name``) present in the target's ``spec.selector.matchLabels``;
  the primary's selector and pod labels carry its value plus ``-primary``, so the apex and
  ``-primary`` Services can select the primary's pods alone;
* metadata keys are copied when they start with one of the include prefixes (``*`` = all);
* Flux's ``*.toolkit.fluxcd.io/*`` keys are never copied: Flux would otherwise think it owns the
  primary and prune or reconcile it;
* a few keys that describe the source object itself are not copied either (see
  :data:`NOT_COPIED`): the target's last applied configuration and its rollout revision number
  say nothing true about the primary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from serinus.apis.base import Manifest
from serinus.errors import TargetError
from serinus.targets import naming

DEFAULT_SELECTOR_LABELS = ("app", "name", "app.kubernetes.io/name")
"""Flagger's ``-selector-labels`` default, in order of preference."""

DEFAULT_INCLUDE_PREFIXES = ("*",)
"""Copy every label and annotation (Flagger's ``-include-label-prefix``, ``*`` = all)."""

FLUX_MARK = "toolkit.fluxcd.io"

NOT_COPIED = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "deprecated.daemonset.template.generation",
    }
)


def include_by_prefix(
    metadata: Mapping[str, str] | None, prefixes: Iterable[str]
) -> dict[str, str]:
    """The keys that start with one of ``prefixes`` (``*`` matches every key)."""
    wanted = tuple(prefixes)
    if "*" in wanted:
        return dict(metadata or {})
    return {k: v for k, v in (metadata or {}).items() if k.startswith(wanted)}


def copied(metadata: Mapping[str, str] | None, prefixes: Iterable[str]) -> dict[str, str]:
    """The labels or annotations a copy gets: included by prefix, without Flux's own keys."""
    return {
        key: value
        for key, value in include_by_prefix(metadata, prefixes).items()
        if FLUX_MARK not in key and key not in NOT_COPIED
    }


def primary_labels(labels: Mapping[str, str] | None, key: str, value: str) -> dict[str, str]:
    """``labels`` with the selector label ``key`` set to the primary's ``value``."""
    result = {k: v for k, v in (labels or {}).items() if k != key}
    result[key] = value
    return result


def selector_label(workload: Manifest, candidates: Iterable[str]) -> tuple[str, str]:
    """The selector label (key, value) of a workload; TargetError when it has none of them."""
    names = tuple(candidates)
    match_labels = (workload.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
    for key in names:
        if key in match_labels:
            return key, str(match_labels[key])
    meta = workload.get("metadata", {})
    where = naming.where(
        str(workload.get("kind", "workload")), meta.get("namespace", ""), meta.get("name", "")
    )
    raise TargetError(
        f"{where}: spec.selector.matchLabels must contain one of {', '.join(names)}, "
        f"found {dict(match_labels) or 'none'}",
        retriable=False,
    )


def point_selectors_at_primary(pod_spec: Manifest, *, keys: Iterable[str], target: str) -> None:
    """Pod anti-affinity and topology spread selectors that name the target name the primary.

    A selector term ``app: podinfo`` (or ``app In [podinfo]``) in the target's pod spec keeps
    its pods apart from each other; copied unchanged into the primary it would keep the primary's
    pods apart from the canary's instead. Only selector-label keys with the target's name as
    value are rewritten (in place), as Flagger does.
    """
    names = tuple(keys)
    for constraint in pod_spec.get("topologySpreadConstraints") or []:
        _rewrite(constraint.get("labelSelector"), names, target)
    anti = (pod_spec.get("affinity") or {}).get("podAntiAffinity") or {}
    for term in anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
        _rewrite((term.get("podAffinityTerm") or {}).get("labelSelector"), names, target)
    for term in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []:
        _rewrite(term.get("labelSelector"), names, target)


def _rewrite(selector: Any, keys: tuple[str, ...], target: str) -> None:
    if not isinstance(selector, dict):
        return
    match_labels = selector.get("matchLabels") or {}
    for key, value in match_labels.items():
        if key in keys and value == target:
            match_labels[key] = naming.primary(target)
    for expression in selector.get("matchExpressions") or []:
        if expression.get("key") in keys:
            values = expression.get("values") or []
            expression["values"] = [naming.primary(v) if v == target else v for v in values]
