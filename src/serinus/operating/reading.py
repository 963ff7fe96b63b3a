"""Reading what a view needs from the API: the Canary, its Events, its run history.

Used by the CLI (with the user's credentials) and by the dashboard (with the operator's, after
the caller's access was checked). A history the caller may not read (no ``get`` on ConfigMaps)
is left out rather than failing the view: the status alone still says where the run is.
"""

from __future__ import annotations

import datetime

from serinus import errors
from serinus.apis.base import Manifest
from serinus.apis.canary import Canary
from serinus.apis.history import History
from serinus.kube.client import Kube
from serinus.kube.history import HistoryStore
from serinus.kube.status import API_VERSION, KIND, canary_from
from serinus.operating import view


async def canary(kube: Kube, namespace: str, name: str) -> Canary:
    """The Canary; NotFoundError naming it when there is none."""
    manifest = await kube.get(API_VERSION, KIND, name, namespace)
    if manifest is None:
        raise errors.NotFoundError(f'canaries.flagger.app "{name}" not found in {namespace}')
    return canary_from(manifest)


async def canaries(kube: Kube, namespace: str | None) -> list[Canary]:
    """The Canaries of a namespace (or all), sorted; ones that do not parse are left out."""
    found = []
    for manifest in await kube.list(API_VERSION, KIND, namespace):
        try:
            found.append(canary_from(manifest))
        except errors.InvalidCanaryError:
            continue
    return sorted(found, key=lambda c: (c.namespace, c.name))


async def events(kube: Kube, namespace: str, name: str) -> list[Manifest]:
    """The Events about the Canary."""
    return await kube.list(
        "v1",
        "Event",
        namespace,
        fields={"involvedObject.kind": "Canary", "involvedObject.name": name},
    )


async def history(kube: Kube, namespace: str, name: str) -> History | None:
    """The Canary's run history; None when it has none or the caller may not read it."""
    try:
        return await HistoryStore(kube).read(namespace, name)
    except errors.ForbiddenError:
        return None


async def canary_view(kube: Kube, namespace: str, name: str) -> view.CanaryView:
    """Everything ``serinus status`` shows about one Canary, read now."""
    return await view_of(kube, await canary(kube, namespace, name))


async def view_of(kube: Kube, found: Canary) -> view.CanaryView:
    """What ``serinus status`` shows about ``found``, with its Events and history read now."""
    return view.build(
        found,
        events=await events(kube, found.namespace, found.name),
        history=await history(kube, found.namespace, found.name),
        now=datetime.datetime.now(datetime.UTC),
    )
