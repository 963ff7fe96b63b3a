"""Skipper: a canary copy of the Ingress named by ``spec.ingressRef``, weighed by annotations.

Flagger's skipper router leaves the user's Ingress alone and writes ``<ingress>-canary``: the same
Ingress, with every path to the apex Service pointed at ``<apex>-primary`` and a copy of that
path pointed at ``<apex>-canary``. Two of Skipper's annotations steer it:

* ``zalando.org/backend-weights``: the weights as JSON, ``{"<apex>-canary": 10,
  "<apex>-primary": 90}`` (keys sorted, as Go writes a map);
* ``zalando.org/skipper-predicate``: ``Weight(100)`` first while the canary has traffic, so the
  copy's routes win over the source's for the same paths; ``False()`` first when the canary's
  weight is 0, which switches the copy off and leaves the traffic to the source Ingress. The
  source's own predicates follow, joined with ``&&``.

Flagger writes ``Weight(100)`` when it creates the copy at 100/0 and ``False()`` from the first
time it sets those routes again; serinus writes ``False()`` for 100/0 from the start (the traffic
is the same: all to the primary). ``finalize`` deletes the copy. Flagger's router splits by
weight only (its A/B testing is a TODO), and so does this one.
"""

from __future__ import annotations

import copy
import json

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import Capabilities, always
from serinus.errors import InvalidCanaryError, RouterError
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import metadata, quantities
from serinus.routers.base import MeshRouter, one_object
from serinus.routers.names import ServiceNames, where
from serinus.routers.objects import Blueprint, Desired
from serinus.routers.services import Services

API_VERSION = "networking.k8s.io/v1"
PROVIDER = "skipper"
WEIGHTS = "zalando.org/backend-weights"
PREDICATE = "zalando.org/skipper-predicate"
ROUTE_WEIGHT = "Weight(100)"
ROUTE_OFF = "False()"
CAPABILITIES = Capabilities()
"""Weights only."""


def ingress_name(canary: Canary) -> str:
    """``spec.ingressRef.name``; InvalidCanaryError without one."""
    ref = canary.spec.ingress_ref
    if ref is None or not ref.name:
        raise InvalidCanaryError(
            "spec.ingressRef: expected the Ingress of the apex Service (provider skipper), "
            "found none"
        )
    return ref.name


def problems(canary: Canary) -> list[str]:
    """What the Canary lacks for this provider."""
    try:
        ingress_name(canary)
    except InvalidCanaryError as error:
        return [str(error)]
    return []


def predicates(raw: str, first: str) -> str:
    """``first``, then the other predicates of ``raw`` (serinus's own dropped), with ``&&``."""
    found = [first]
    for part in raw.split("&&"):
        predicate = part.strip()
        if predicate and predicate not in (ROUTE_WEIGHT, ROUTE_OFF):
            found.append(predicate)
    return " && ".join(found)


class SkipperIngressBlueprint(Blueprint):
    """``<ingress>-canary``: the source Ingress with primary and canary paths."""

    api_version = API_VERSION
    kind = "Ingress"
    owns_annotations = True

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def name(self, canary: Canary) -> str:
        return f"{ingress_name(canary)}-canary"

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        source = await self._source(canary)
        names = ServiceNames.of(canary)
        spec = copy.deepcopy(source.get("spec") or {})
        if not _split_paths(spec, names):
            raise RouterError(
                PROVIDER,
                f"{where('Ingress', canary, ingress_name(canary))}: no path sends to the apex "
                f"Service {names.apex}",
            )
        meta = source.get("metadata") or {}
        annotations = {
            key: value
            for key, value in (meta.get("annotations") or {}).items()
            if key != metadata.KUBECTL_LAST_APPLIED
        }
        weights = {names.primary: routes.primary, names.canary: routes.canary}
        annotations[WEIGHTS] = json.dumps(weights, sort_keys=True, separators=(",", ":"))
        first = ROUTE_OFF if routes.canary == 0 else ROUTE_WEIGHT
        annotations[PREDICATE] = predicates(annotations.get(PREDICATE, ""), first)
        return Desired(
            body={"spec": spec}, labels=dict(meta.get("labels") or {}), annotations=annotations
        )

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        annotations = (manifest.get("metadata") or {}).get("annotations") or {}
        what = where("Ingress", canary, self.name(canary))
        try:
            weights = json.loads(annotations.get(WEIGHTS) or "")
        except ValueError as error:
            raise RouterError(
                PROVIDER, f"{what}: annotation {WEIGHTS}: expected JSON weights ({error})"
            ) from error
        if not isinstance(weights, dict):
            raise RouterError(PROVIDER, f"{what}: annotation {WEIGHTS}: expected a JSON object")
        return quantities.routes(weights, ServiceNames.of(canary), what=what, provider=PROVIDER)

    async def _source(self, canary: Canary) -> Manifest:
        name = ingress_name(canary)
        found = await self.kube.get(API_VERSION, "Ingress", name, canary.namespace)
        if found is None:
            raise RouterError(PROVIDER, f"{where('Ingress', canary, name)}: not found")
        return found


def _split_paths(spec: Manifest, names: ServiceNames) -> bool:
    """Point each path to the apex at the primary and add its copy to the canary; whether any."""
    found = False
    for rule in spec.get("rules") or []:
        http = rule.get("http") or {}
        added = []
        for path in http.get("paths") or []:
            service = (path.get("backend") or {}).get("service") or {}
            if service.get("name") != names.apex:
                continue
            service["name"] = names.primary
            twin = copy.deepcopy(path)
            twin["backend"]["service"]["name"] = names.canary
            added.append(twin)
            found = True
        if added:
            http["paths"] = [*http.get("paths", []), *added]
    return found


def router(kube: Kube, services: Services) -> MeshRouter:
    """The skipper provider's router."""
    blueprint = SkipperIngressBlueprint(kube)
    return one_object(kube, services, blueprint, provider=PROVIDER, capabilities=capabilities)


capabilities = always(CAPABILITIES)
