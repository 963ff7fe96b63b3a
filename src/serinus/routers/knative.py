"""Knative: traffic split by revision in the target Knative Service itself.

Knative routes by revision, so there are no Services or mesh objects to write (Flagger's knative
router skips them too): the split is the target Service's ``spec.traffic``, the latest revision
(the canary, ``latestRevision: true``) against the revision named in the
``flagger.app/primary-revision`` annotation (:mod:`serinus.targets.knative` sets it). The weights
are read back from ``status.traffic``, where Knative reports the split it serves; a status that
has not caught up with the Service's generation is a (retriable) error rather than a stale
answer. ``finalize`` hands the Service back: the annotation goes and all traffic follows the
latest revision again (Flagger only drops the annotation, leaving traffic pinned to a revision).

Knative splits by weight only in Flagger; so does serinus.
"""

from __future__ import annotations

from serinus.apis.base import Manifest
from serinus.apis.canary import KNATIVE_API_VERSION, PRIMARY_REVISION_ANNOTATION, Canary
from serinus.capabilities import Capabilities, always
from serinus.errors import RouterError
from serinus.kube import Kube
from serinus.ports import Routes

PROVIDER = "knative"
SERVICE = (KNATIVE_API_VERSION, "Service")
CAPABILITIES = Capabilities()
"""Weights only."""


class KnativeRouter:
    """A :class:`serinus.ports.Router` writing the Knative Service's traffic block."""

    provider = PROVIDER

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def capabilities(self, canary: Canary) -> Capabilities:
        return CAPABILITIES

    async def initialize(self, canary: Canary) -> None:
        """Nothing: Knative needs no Services of serinus."""

    async def reconcile(self, canary: Canary) -> None:
        """Name the latest revision as the primary when no revision is named yet."""
        service = await self._service(canary)
        if PRIMARY_REVISION_ANNOTATION in _annotations(service):
            return
        latest = (service.get("status") or {}).get("latestCreatedRevisionName")
        if not latest:
            raise RouterError(PROVIDER, f"{_where(canary)}: no revision created yet")
        await self._patch(
            canary, {"metadata": {"annotations": {PRIMARY_REVISION_ANNOTATION: latest}}}
        )

    async def set_routes(
        self, canary: Canary, routes: Routes, *, current: Routes | None = None
    ) -> None:
        """Patch ``spec.traffic`` (a merge patch: ``current`` is not needed to write it)."""
        primary = _primary(canary, await self._service(canary))
        traffic = [
            {"latestRevision": True, "percent": routes.canary},
            {"revisionName": primary, "percent": routes.primary},
        ]
        await self._patch(canary, {"spec": {"traffic": traffic}})

    async def get_routes(self, canary: Canary) -> Routes:
        service = await self._service(canary)
        primary = _primary(canary, service)
        status = service.get("status") or {}
        generation = (service.get("metadata") or {}).get("generation") or 0
        observed = status.get("observedGeneration") or 0
        if observed < generation:
            raise RouterError(
                PROVIDER,
                f"{_where(canary)}: Knative has not served generation {generation} yet "
                f"(observed {observed})",
            )
        traffic = status.get("traffic") or []
        latest = [t.get("percent") for t in traffic if t.get("latestRevision")]
        pinned = [
            t.get("percent")
            for t in traffic
            if not t.get("latestRevision") and t.get("revisionName") == primary
        ]
        if not latest or not isinstance(latest[0], int):
            raise RouterError(
                PROVIDER, f"{_where(canary)}: status.traffic has no percent for the latest revision"
            )
        if pinned and isinstance(pinned[0], int):
            return Routes(primary=pinned[0], canary=latest[0])
        # Just promoted: the latest revision is the primary, traffic not yet pinned to it.
        return Routes(primary=100 - latest[0], canary=latest[0])

    async def finalize(self, canary: Canary) -> None:
        service = await self.kube.get(*SERVICE, canary.spec.target_ref.name, canary.namespace)
        if service is None or PRIMARY_REVISION_ANNOTATION not in _annotations(service):
            return
        patch = {
            "metadata": {"annotations": {PRIMARY_REVISION_ANNOTATION: None}},
            "spec": {"traffic": [{"latestRevision": True, "percent": 100}]},
        }
        await self._patch(canary, patch)

    # internals

    async def _service(self, canary: Canary) -> Manifest:
        found = await self.kube.get(*SERVICE, canary.spec.target_ref.name, canary.namespace)
        if found is None:
            raise RouterError(PROVIDER, f"{_where(canary)}: not found")
        return found

    async def _patch(self, canary: Canary, patch: Manifest) -> None:
        await self.kube.patch(*SERVICE, canary.spec.target_ref.name, canary.namespace, patch)


def _where(canary: Canary) -> str:
    return f"Knative Service {canary.namespace}/{canary.spec.target_ref.name}"


def _annotations(service: Manifest) -> dict[str, str]:
    return dict((service.get("metadata") or {}).get("annotations") or {})


def _primary(canary: Canary, service: Manifest) -> str:
    name = _annotations(service).get(PRIMARY_REVISION_ANNOTATION)
    if not name:
        raise RouterError(
            PROVIDER, f"{_where(canary)}: annotation {PRIMARY_REVISION_ANNOTATION} not found"
        )
    return name


def router(kube: Kube) -> KnativeRouter:
    """The knative provider's router."""
    return KnativeRouter(kube)


capabilities = always(CAPABILITIES)
