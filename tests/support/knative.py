"""Knative Serving's Service controller, played by hand for tests that run against the sandbox's
API server (which, like any API server, runs no Knative).

What Knative does with a ``serving.knative.dev/v1`` Service, and what Flagger's knative support
relies on: each new ``spec.template`` becomes an immutable Revision ``<service>-<00001..>``
(owned by the Service, labelled ``serving.knative.dev/service``); the Service's status names the
latest created and the latest ready revision, reports ``observedGeneration``, and resolves
``spec.traffic`` into ``status.traffic`` (``latestRevision: true`` gets the latest ready
revision's name; no traffic block means all to the latest). A revision is Ready at once unless
its name is in :attr:`KnativeServing.unready`, which is how a test makes a revision that never
becomes ready.

:meth:`KnativeServing.reconcile` does one pass for one Service (unit tests); used as an async
context manager it watches a namespace and reconciles every change (operator tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from serinus.kube import Kube

API_VERSION = "serving.knative.dev/v1"
SERVICE = (API_VERSION, "Service")
REVISION = (API_VERSION, "Revision")
TEMPLATE_ANNOTATION = "tests.serinus.io/template"
Manifest = dict[str, Any]


def knative_service(name: str, namespace: str, image: str) -> Manifest:
    """A Knative Service of podinfo, as Flagger's Knative tutorial writes one."""
    container = {
        "image": image,
        "ports": [{"containerPort": 9898, "protocol": "TCP"}],
        "command": ["./podinfo", "--port=9898"],
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


class KnativeServing:
    """Revisions and Service status for the Knative Services of one namespace."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.unready: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def reconcile(self, name: str) -> Manifest | None:
        """One pass for Service ``name``: a revision for a new template, then the status."""
        service = await self.kube.get(*SERVICE, name, self.namespace)
        if service is None:
            return None
        revisions = sorted(
            (
                r
                for r in await self.kube.list(*REVISION, self.namespace)
                if (r["metadata"].get("labels") or {}).get("serving.knative.dev/service") == name
            ),
            key=lambda r: r["metadata"]["name"],
        )
        template = json.dumps(service["spec"].get("template") or {}, sort_keys=True)
        latest = revisions[-1] if revisions else None
        if latest is None or latest["metadata"]["annotations"].get(TEMPLATE_ANNOTATION) != template:
            latest = await self._revision(service, len(revisions) + 1, template)
        ready_names = [
            r["metadata"]["name"]
            for r in [*revisions, latest]
            if r["metadata"]["name"] not in self.unready
        ]
        status = _status(
            service, latest["metadata"]["name"], ready_names[-1] if ready_names else None
        )
        if (service.get("status") or {}) == status:
            return service
        return await self.kube.patch_status(*SERVICE, name, self.namespace, {"status": status})

    async def _revision(self, service: Manifest, number: int, template: str) -> Manifest:
        name = f"{service['metadata']['name']}-{number:05d}"
        ready = "False" if name in self.unready else "True"
        revision = {
            "apiVersion": API_VERSION,
            "kind": "Revision",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "labels": {"serving.knative.dev/service": service["metadata"]["name"]},
                "annotations": {TEMPLATE_ANNOTATION: template},
                "ownerReferences": [
                    {
                        "apiVersion": API_VERSION,
                        "kind": "Service",
                        "name": service["metadata"]["name"],
                        "uid": service["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": (service["spec"].get("template") or {}).get("spec") or {},
        }
        created = await self.kube.create(revision)
        condition = {"type": "Ready", "status": ready}
        return (
            await self.kube.patch_status(
                *REVISION, name, self.namespace, {"status": {"conditions": [condition]}}
            )
            or created
        )

    async def __aenter__(self) -> KnativeServing:
        self._task = asyncio.create_task(self._run(), name="knative-serving")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async for event, service in self.kube.watch(*SERVICE, self.namespace):
            if event != "DELETED":
                await self.reconcile(service["metadata"]["name"])


def _status(service: Manifest, latest: str, ready: str | None) -> Manifest:
    traffic = service["spec"].get("traffic") or [{"latestRevision": True, "percent": 100}]
    resolved = []
    for target in traffic:
        entry = dict(target)
        if entry.get("latestRevision"):
            entry["revisionName"] = ready or latest
        else:
            entry.setdefault("latestRevision", False)
        resolved.append(entry)
    status: Manifest = {
        "observedGeneration": service["metadata"].get("generation", 1),
        "latestCreatedRevisionName": latest,
        "traffic": resolved,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    if ready is not None:
        status["latestReadyRevisionName"] = ready
    return status
