"""NGINX ingress: a canary copy of ``spec.ingressRef``, steered by annotations.

The ingress-nginx controller splits traffic between an Ingress and a second Ingress for the same
hosts and paths annotated ``canary: "true"``. serinus copies the referenced Ingress
(``networking.k8s.io/v1``) to ``<ingress>-canary``, with every backend naming the apex Service
pointed at ``<apex>-canary``, and moves traffic with annotations under the controller's prefix
(``nginx.ingress.kubernetes.io`` unless the operator is configured otherwise):

* ``canary``: always ``"true"``, as Flagger writes it. A copy marked ``"false"`` would be a second
  plain Ingress for the same hosts and paths, which ingress-nginx serves in creation order: once
  the original is re-created, the copy (pointing at the canary) would take its traffic;
* ``canary-weight``: the canary's percentage, ``"0"`` at 100/0 (then no other canary annotation
  is set);
* A/B testing, from ``analysis.match`` headers: ``canary-by-header`` with ``-value`` (exact) or
  ``-pattern`` (prefix, suffix and regex, as a regular expression), and ``canary-by-cookie``
  from a ``cookie`` header condition (the controller routes requests whose cookie of that name is
  ``always``). NGINX knows one header and one cookie, and no uri or query conditions, and it
  cannot mirror (:data:`CAPABILITIES`): a Canary asking for more is refused when it is checked.

The copy's labels and other annotations follow the original Ingress, less kubectl's record of
it. Reading the routes back: ``canary`` not ``"true"`` (a copy an older serinus wrote) is 100/0,
a header or cookie condition is 0/100 (requests that match all go to the canary), otherwise
``canary-weight``.
"""

from __future__ import annotations

import copy

from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.capabilities import STRING_KINDS, Capabilities, Matching, always
from serinus.errors import InvalidCanaryError, RouterError
from serinus.kube import Kube
from serinus.ports import Routes
from serinus.routers import http_matches, metadata
from serinus.routers.base import MeshRouter, one_object
from serinus.routers.names import ServiceNames, where
from serinus.routers.objects import Blueprint, Desired
from serinus.routers.services import Services

API_VERSION = "networking.k8s.io/v1"
DEFAULT_ANNOTATIONS_PREFIX = "nginx.ingress.kubernetes.io"
CAPABILITIES = Capabilities(
    matching=Matching(
        "NGINX", fields={"headers": STRING_KINDS}, headers=1, cookie=frozenset({"exact"})
    )
)
"""Weights, and A/B on one header and one cookie (by its name); no mirroring."""


class CanaryIngressBlueprint(Blueprint):
    """``<ingress>-canary``: the referenced Ingress, pointed at the canary Service."""

    api_version = API_VERSION
    kind = "Ingress"
    owns_annotations = True

    def __init__(self, kube: Kube, *, provider: str, prefix: str) -> None:
        self.kube = kube
        self.provider = provider
        self.prefix = prefix

    def annotation(self, suffix: str) -> str:
        return f"{self.prefix}/{suffix}"

    def name(self, canary: Canary) -> str:
        return f"{_ingress_name(canary)}-canary"

    async def build(self, canary: Canary, routes: Routes) -> Desired:
        source = await self._source(canary)
        names = ServiceNames.of(canary)
        spec = copy.deepcopy(source.get("spec") or {})
        if not _point_at(spec, names.apex, names.canary):
            raise RouterError(
                self.provider,
                f"{where('Ingress', canary, _ingress_name(canary))}: no backend names the apex "
                f"Service {names.apex}",
            )
        meta = source.get("metadata") or {}
        annotations = {
            key: value
            for key, value in (meta.get("annotations") or {}).items()
            if not key.startswith(self.annotation("canary"))
            and key != metadata.KUBECTL_LAST_APPLIED
        }
        annotations.update(self._routing(canary, routes))
        return Desired(
            body={"spec": spec}, labels=dict(meta.get("labels") or {}), annotations=annotations
        )

    def routes(self, canary: Canary, manifest: Manifest) -> Routes:
        annotations = (manifest.get("metadata") or {}).get("annotations") or {}
        if annotations.get(self.annotation("canary")) != "true":
            return Routes(100, 0)
        if any(
            self.annotation(key) in annotations for key in ("canary-by-header", "canary-by-cookie")
        ):
            return Routes(0, 100)
        text = annotations.get(self.annotation("canary-weight"), "0")
        try:
            weight = int(text)
        except ValueError as error:
            raise RouterError(
                self.provider,
                f"{where('Ingress', canary, self.name(canary))}: annotation "
                f"{self.annotation('canary-weight')}: expected a whole number, found {text!r}",
            ) from error
        return Routes(100 - weight, weight)

    async def _source(self, canary: Canary) -> Manifest:
        name = _ingress_name(canary)
        found = await self.kube.get(API_VERSION, "Ingress", name, canary.namespace)
        if found is None:
            raise RouterError(self.provider, f"{where('Ingress', canary, name)}: not found")
        return found

    def _routing(self, canary: Canary, routes: Routes) -> dict[str, str]:
        analysis = canary.spec.effective_analysis
        conditions = self._conditions(analysis.match or []) if analysis is not None else {}
        if routes.canary <= 0:
            return {self.annotation("canary"): "true", self.annotation("canary-weight"): "0"}
        found = {self.annotation("canary"): "true"}
        if conditions:
            found.update(conditions)
        else:
            found[self.annotation("canary-weight")] = str(routes.canary)
        return found

    def _conditions(self, matches: list[Manifest]) -> dict[str, str]:
        """The A/B annotations for ``analysis.match``; InvalidCanaryError beyond NGINX's reach."""
        found: dict[str, str] = {}
        for index, match in enumerate(matches):
            at = f"spec.analysis.match[{index}]"
            extra = sorted(set(match) - {"headers", "name"})
            if extra:
                raise InvalidCanaryError(
                    f"{at}.{extra[0]}: NGINX matches on one header and one cookie only, "
                    f"found {extra[0]}"
                )
            for header, condition in sorted((match.get("headers") or {}).items()):
                field = f"{at}.headers.{header}"
                kind, text = http_matches.string_match(condition, field=field)
                if header.lower() == "cookie":
                    if kind != "exact":
                        raise InvalidCanaryError(
                            f"{field}: NGINX matches a cookie by its name (exact), found {kind}"
                        )
                    self._set(found, "canary-by-cookie", text, field)
                    continue
                self._set(found, "canary-by-header", header, field)
                if kind == "exact":
                    self._set(found, "canary-by-header-value", text, field)
                else:
                    pattern = http_matches.as_regex(kind, text)
                    self._set(found, "canary-by-header-pattern", pattern, field)
        return found

    def _set(self, found: dict[str, str], key: str, value: str, field: str) -> None:
        name = self.annotation(key)
        if name in found and found[name] != value:
            raise InvalidCanaryError(
                f"{field}: NGINX matches on one header and one cookie only, found a second one"
            )
        found[name] = value


def _ingress_name(canary: Canary) -> str:
    ref = canary.spec.ingress_ref
    if ref is None or not ref.name:
        raise InvalidCanaryError(
            "spec.ingressRef: expected the Ingress of the apex Service for the nginx provider, "
            "found none"
        )
    return ref.name


def problems(canary: Canary) -> list[str]:
    """What the Canary lacks for this provider."""
    try:
        _ingress_name(canary)
    except InvalidCanaryError as error:
        return [str(error)]
    return []


def _point_at(spec: Manifest, apex: str, canary: str) -> bool:
    """Rename every backend Service ``apex`` to ``canary``; whether there was one."""
    backends = [spec.get("defaultBackend") or {}]
    for rule in spec.get("rules") or []:
        backends += [
            path.get("backend") or {} for path in (rule.get("http") or {}).get("paths") or []
        ]
    found = False
    for backend in backends:
        service = backend.get("service") or {}
        if service.get("name") == apex:
            service["name"] = canary
            found = True
    return found


def router(
    kube: Kube, services: Services, *, prefix: str = DEFAULT_ANNOTATIONS_PREFIX
) -> MeshRouter:
    """The nginx provider's router."""
    blueprint = CanaryIngressBlueprint(kube, provider="nginx", prefix=prefix)
    return one_object(kube, services, blueprint, provider="nginx", capabilities=capabilities)


capabilities = always(CAPABILITIES)
