"""``KnativeTarget``: a Knative Service under canary release (Flagger's ``KnativeController``).

A Knative Service (``serving.knative.dev/v1``) keeps every version it ever ran as an immutable
Revision, so there is no ``-primary`` copy to make and nothing to scale: the primary is a
revision, named in the Service's ``flagger.app/primary-revision`` annotation, and the canary is
the latest revision Knative created (``status.latestCreatedRevisionName``). What the other targets
do with workloads becomes:

* ``initialize``: name the latest revision as the primary and give it all the traffic
  (``spec.traffic``: the latest revision at 0 %, the primary at 100 %), once;
* ``revision``: the latest created revision's name is what identifies a release, so a new
  revision starts a run (as Flagger compares it);
* readiness: the revision's ``Ready`` condition (the primary's, or the latest one's);
* ``promote``: the latest revision becomes the primary (the annotation moves);
* scaling: nothing; Knative scales revisions by their traffic.

Changes are merge patches of the Service's annotation and traffic, so the fields the user or
Knative own are never overwritten. The traffic split itself is the Knative router's
(:mod:`serinus.routers.knative`).
"""

from __future__ import annotations

from serinus.apis.base import Manifest
from serinus.apis.canary import KNATIVE_API_VERSION, PRIMARY_REVISION_ANNOTATION, Canary
from serinus.errors import TargetError, TargetNotFoundError
from serinus.kube import Kube
from serinus.ports import Readiness, Revision
from serinus.targets import naming

SERVICE = (KNATIVE_API_VERSION, "Service")
REVISION = (KNATIVE_API_VERSION, "Revision")


class KnativeTarget:
    """A ``kind: Service`` target of ``apiVersion: serving.knative.dev/v1``."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    async def initialize(self, canary: Canary) -> None:
        service = await self._service(canary)
        if PRIMARY_REVISION_ANNOTATION in _annotations(service):
            return
        latest = _latest(canary, service)
        patch = {
            "metadata": {"annotations": {PRIMARY_REVISION_ANNOTATION: latest}},
            "spec": {
                "traffic": [
                    {"latestRevision": True, "percent": 0},
                    {"revisionName": latest, "percent": 100},
                ]
            },
        }
        await self.kube.patch(*SERVICE, canary.spec.target_ref.name, canary.namespace, patch)

    async def revision(self, canary: Canary) -> Revision:
        return Revision(spec_hash=_latest(canary, await self._service(canary)))

    async def is_primary_ready(self, canary: Canary) -> Readiness:
        service = await self._service(canary)
        name = _annotations(service).get(PRIMARY_REVISION_ANNOTATION)
        if not name:
            return Readiness(
                False,
                f"{self._where(canary)}: annotation {PRIMARY_REVISION_ANNOTATION} not found",
            )
        return await self._ready(canary, name)

    async def is_canary_ready(self, canary: Canary) -> Readiness:
        return await self._ready(canary, _latest(canary, await self._service(canary)))

    async def promote(self, canary: Canary) -> None:
        latest = _latest(canary, await self._service(canary))
        patch = {"metadata": {"annotations": {PRIMARY_REVISION_ANNOTATION: latest}}}
        await self.kube.patch(*SERVICE, canary.spec.target_ref.name, canary.namespace, patch)

    async def promotion_stops_primary(self, canary: Canary) -> bool:
        """Promotion moves an annotation: the primary revision keeps serving."""
        return False

    async def scale_to_zero(self, canary: Canary) -> None:
        """Nothing: Knative scales a revision that gets no traffic down by itself."""

    async def scale_from_zero(self, canary: Canary) -> None:
        """Nothing: Knative scales a revision up when it gets traffic."""

    async def finalize(self, canary: Canary) -> None:
        """Nothing here; the Knative router gives the traffic and the annotation back."""

    # internals

    def _where(self, canary: Canary) -> str:
        return f"Knative {naming.where('Service', canary.namespace, canary.spec.target_ref.name)}"

    async def _service(self, canary: Canary) -> Manifest:
        found = await self.kube.get(*SERVICE, canary.spec.target_ref.name, canary.namespace)
        if found is None:
            raise TargetNotFoundError(f"{self._where(canary)} not found")
        return found

    async def _ready(self, canary: Canary, name: str) -> Readiness:
        found = await self.kube.get(*REVISION, name, canary.namespace)
        where = f"Knative {naming.where('Revision', canary.namespace, name)}"
        if found is None:
            return Readiness(False, f"{where} not found")
        for condition in (found.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                return Readiness(True)
        return Readiness(False, f"{where} is not ready")


def _annotations(service: Manifest) -> dict[str, str]:
    return dict((service.get("metadata") or {}).get("annotations") or {})


def _latest(canary: Canary, service: Manifest) -> str:
    latest = (service.get("status") or {}).get("latestCreatedRevisionName")
    if not latest:
        name = canary.spec.target_ref.name
        raise TargetError(
            f"Knative {naming.where('Service', canary.namespace, name)}: no revision created yet "
            "(status.latestCreatedRevisionName is empty)"
        )
    return str(latest)
