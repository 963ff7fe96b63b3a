"""API requests counted by the API server itself, from its ``/metrics``.

Used by ``operator_scale.py``. The sandbox's API server counts every request it answers in
``apiserver_request_total`` (verb, resource, subresource, code), as a real API server does
(:mod:`serinus.sandbox.apiserver.metrics`); reading it before and after a window gives the
operators' requests of that window by kind (``PUT canaries/status``, ``POST events``) without a
proxy in their way. (A TCP proxy did this before; it copied every watch stream of every replica,
and its CPU was taken from the cores being measured.)

What the script itself asks in a window is taken out: its reads of ``/metrics`` and the
Deployment status patches of its kubelet (:class:`scale_cluster.Cluster` counts those).
"""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

OWN_READ = "GET (no resource)"
"""The key of this script's reads of the counters (and of discovery, /version and the like)."""


def request_kinds(url: str) -> dict[str, int]:
    """Requests answered so far by the API server at ``url``, by kind: ``VERB resource[/sub]``
    (:data:`OWN_READ` for a request about no resource)."""
    text = httpx.get(f"{url}/metrics", timeout=60).raise_for_status().text
    kinds: dict[str, int] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name != "apiserver_request_total":
                continue
            labels = sample.labels
            resource = "/".join(filter(None, (labels["resource"], labels["subresource"])))
            key = f"{labels['verb']} {resource}" if resource else OWN_READ
            kinds[key] = kinds.get(key, 0) + int(sample.value)
    return kinds


def difference(
    before: dict[str, int], after: dict[str, int], own: dict[str, int]
) -> dict[str, int]:
    """The requests between two readings, less ``own`` (the script's, by kind) and the one read
    of ``before`` itself (counted once answered, so it shows in ``after``)."""
    taken = {**own, OWN_READ: own.get(OWN_READ, 0) + 1}
    found = {k: after[k] - before.get(k, 0) - taken.get(k, 0) for k in after}
    return {k: v for k, v in found.items() if v > 0}
